class ImportFormatError(ValueError):
    """A file that cannot be imported. The message tells a person what to fix:
    which line (when known) and what was expected."""

    def __init__(self, message: str, *, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)
