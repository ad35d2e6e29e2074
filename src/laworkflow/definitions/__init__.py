"""Workflow definitions: the model, the safe YAML loader, graph checks, guards, the compiled machine, versions, diagrams."""

from laworkflow.definitions.catalog import WORKFLOWS_ENV, Catalog, default_workflows_dir
from laworkflow.definitions.diagram import mermaid
from laworkflow.definitions.guards import GuardContext, GuardRegistry, check_condition, default_guards, describe
from laworkflow.definitions.loader import load_file, load_text
from laworkflow.definitions.machine import CompiledWorkflow, compile_definition
from laworkflow.definitions.model import Definition, json_schema
from laworkflow.definitions.validation import check_definition

__all__ = [
    "Catalog",
    "CompiledWorkflow",
    "Definition",
    "GuardContext",
    "GuardRegistry",
    "WORKFLOWS_ENV",
    "check_condition",
    "check_definition",
    "compile_definition",
    "default_guards",
    "default_workflows_dir",
    "describe",
    "json_schema",
    "load_file",
    "load_text",
    "mermaid",
]
