"""Arguments shared by the management commands that walk users (recompute_spending,
recategorize): one user by email or id, or every user in batches."""

from __future__ import annotations

import argparse


def _named(text: str) -> str:
    """An email or an id, never empty: an unset shell variable (``--user "$WHO"``) must
    not turn a one-user repair into a run over every user."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a user's email or id")
    return text.strip()


def _batch_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if size < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return size


def add_user_arguments(parser, *, all_help: str = "every user, by id in batches") -> None:
    """``--user EMAIL|ID`` or ``--all``, and ``--batch-size`` (users per batch, 500)."""
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=_named, help="a user's email or id")
    who.add_argument("--all", action="store_true", help=all_help)
    parser.add_argument("--batch-size", type=_batch_size, default=500,
                        help="users per batch with --all (at least 1)")
