"""One exception root for the package.

Verdicts are never exceptions (see :mod:`spurious.certificate`); these are raised only for misuse,
bad input and internal consistency failures.
"""


class SpuriousError(Exception):
    """Root of every error raised on purpose by `spurious`."""


class InputError(SpuriousError, ValueError):
    """Input that does not describe a valid problem, point or parameter (message says what to change)."""


class NotExactError(SpuriousError):
    """An exact (rational) evaluation was asked of something that is not rational (e.g. tanh)."""


class UnsupportedError(SpuriousError):
    """A valid request that this implementation does not handle (e.g. no closed form for a population loss)."""


class InternalError(SpuriousError):
    """A mathematical self-check failed: a bug, never a verdict."""
