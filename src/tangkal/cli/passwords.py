"""Where a password set on the command line comes from: a prompt, or standard input.

Never an argument: the process list shows every process's arguments to every user of the host
and the shell keeps them in its history, so ``--password`` is refused with a message saying
what to use instead. Scripts pipe the password in with ``--password-stdin``.
"""

from __future__ import annotations

import sys

import typer

from tangkal.cli.common import fail


def read_password(from_stdin: bool, argument: str | None) -> str:
    """The new password: the first line of stdin with ``--password-stdin``, else asked for
    twice without echo; an argument is refused before anything is written."""
    if argument is not None:
        fail(
            "--password is not accepted: a password in the command line is visible to every "
            "user of this host (ps) and stays in the shell history. Leave it out to be asked "
            "for it, or pipe it in with --password-stdin."
        )
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            fail("--password-stdin read no password: give it as the first line of stdin.")
        return password
    answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return answer
