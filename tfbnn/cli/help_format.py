"""One --help style for every tfbnn command: a flag's default, where it says
something; a usage error in one line."""
import argparse
import re

__all__ = ['DefaultsHelpFormatter', 'OneLineParser']

# "(default e^-6)", "default: RUN_DIR/export"; not "... reproduce.py defaults".
_NAMES_DEFAULT = re.compile(r'\(default\b|\bdefault:')


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to a flag's help, except where it would mislead or repeat.

    Left out for a switch (`--no-test-eval`: the value behind it would read as
    the switch's state), a default of None (the help says what happens
    instead), and a help text that already names its default.
    """

    def _get_help_string(self, action):
        text = action.help or ''
        if action.nargs == 0 or action.default is None or _NAMES_DEFAULT.search(text):
            return text
        return super(DefaultsHelpFormatter, self)._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors (an unknown flag, a value of the
    wrong type or out of its choices) are one line on stderr and exit 2,
    `PROG: error: MESSAGE (see PROG --help)`, instead of the whole usage
    first: tfbnn-train's is 50 lines, and a log shows the error last."""

    def error(self, message):
        self.exit(2, '%s: error: %s (see %s --help)\n' % (self.prog, message, self.prog))
