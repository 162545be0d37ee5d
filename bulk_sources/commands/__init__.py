"""One module per subcommand; each adds its parser with `register(subparsers)`."""

from types import ModuleType

from . import fake_server_cmd, submit_cmd, validate_cmd

COMMANDS: list[ModuleType] = [validate_cmd, submit_cmd, fake_server_cmd]
