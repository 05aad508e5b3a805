"""The library's logs in Python's `logging` (see `route_logs_to_python_logging`)."""
import logging

from . import LogLevel, LogSink, set_log_sink  # the generated names, bound before this module loads

_TO_PYTHON = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: logging.DEBUG - 5,
}


def _from_python(level: int) -> LogLevel:
    if level >= logging.ERROR:
        return LogLevel.ERROR
    if level >= logging.WARNING:
        return LogLevel.WARN
    if level >= logging.INFO:
        return LogLevel.INFO
    if level >= logging.DEBUG:
        return LogLevel.DEBUG
    return LogLevel.TRACE


class PythonLoggingSink(LogSink):
    """A `LogSink` that hands each record to `logging.getLogger(target)`, with
    the Rust target's `::` written as `.` (`offline_auth.security`)."""

    def log(self, level: LogLevel, target: str, message: str) -> None:
        logging.getLogger(target.replace("::", ".")).log(_TO_PYTHON.get(level, logging.INFO), message)


def route_logs_to_python_logging(level: int = logging.INFO) -> None:
    """Routes the library's log records at `level` (a `logging` level) and
    above to Python's `logging`, under the loggers `offline_auth.*`.

    Security events arrive at INFO (a wrong PIN) and WARNING (the rest), as
    their text: no PIN, key, grant or record value. Call it once at start-up;
    `clear_log_sink()` stops it. Raises `LogSinkError.AnotherLoggerInstalled`
    if a Rust logger of the process already takes the records.
    """
    set_log_sink(PythonLoggingSink(), _from_python(level))
