"""Reading the user's files: project settings, template YAML with locations, validation, fmt."""

from tallyform.config.project import (
    CONFIG_NAME,
    ConfigError,
    OrgSettings,
    Project,
    display_path,
    find_config,
    load_project,
    load_template_file,
    load_templates,
    template_files,
)
from tallyform.config.source import Document, Location, Problem

__all__ = [
    "CONFIG_NAME",
    "ConfigError",
    "Document",
    "Location",
    "OrgSettings",
    "Problem",
    "Project",
    "display_path",
    "find_config",
    "load_project",
    "load_template_file",
    "load_templates",
    "template_files",
]
