"""The one exception latdisp's own failures raise from Python."""


class LatdispError(Exception):
    """latdisp exited with a non-zero code.

    Attributes:
        message: latdisp's own message (the ``latdisp: error:`` line(s) of rank 0,
            without the prefix and without mpirun's notices).
        exit_code: the exit code (1 usage or configuration, 2 input, 3 output,
            4 verdict not PERFECT under ``strict=True``, 5 stopped by a signal;
            docs/report.md §12), or None when the process did not end by itself
            (a timeout) or never started.
        command: the command line that ran, as a list.
        stderr: everything the run wrote on stderr, mpirun's notices included.
        report: the report (a ``latdisp.Report``) when the run wrote one before
            failing (exit 4 under ``strict=True``), else None.
    """

    def __init__(self, message, exit_code=None, command=None, stderr="", report=None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.command = list(command or [])
        self.stderr = stderr
        self.report = report

    def __str__(self):
        if self.exit_code is None:
            return self.message
        return f"{self.message} (exit code {self.exit_code})"
