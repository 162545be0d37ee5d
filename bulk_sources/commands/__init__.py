"""One module per subcommand; each adds its parser with `register(subparsers)`."""

from types import ModuleType

from . import demo_cmd, fake_server_cmd, submit_cmd, validate_cmd

COMMANDS: list[ModuleType] = [demo_cmd, submit_cmd, validate_cmd, fake_server_cmd]
