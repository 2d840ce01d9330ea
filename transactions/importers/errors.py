class ImportFormatError(ValueError):
    """A file that cannot be imported. The message tells a person what to fix:
    which line (when known) and what was expected."""

    # ``columns``: the fix is naming the file's columns (a CSV whose headers were not
    # recognised): the import form opens its column mapping for it.
    columns: bool = False

    def __init__(self, message: str, *, line: int | None = None, columns: bool = False):
        self.line = line
        self.columns = columns
        super().__init__(f"line {line}: {message}" if line else message)
