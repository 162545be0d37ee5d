"""One module per subcommand; each adds its parser with `register(subparsers)`."""

from types import ModuleType

from . import validate_cmd

COMMANDS: list[ModuleType] = [validate_cmd]
