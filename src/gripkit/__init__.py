"""gripkit: evidence-based hotspot policing, from police.uk data to patrol plans and evaluation."""

from gripkit.errors import GripkitError, InputError, WorkspaceError
from gripkit.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["GripkitError", "InputError", "Workspace", "WorkspaceError", "__version__"]
