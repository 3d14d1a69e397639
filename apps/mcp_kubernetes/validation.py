"""Argument checks made before any request: a malformed name costs an API round trip and gives the model a
vaguer answer than the rule it broke.

The patterns are Kubernetes' own (apimachinery ``IsDNS1123Label`` and ``IsDNS1123Subdomain``); tools.py puts the
same patterns in the input schemas so clients can check before calling.
"""

from __future__ import annotations

import re

from apps.common.tools import ToolError

DNS1123_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
# Keys, values, the operators = == != ! in notin (and the < > the selector grammar allows), commas, parentheses
# and spaces. Anything else (quotes, semicolons, newlines) cannot be part of a valid selector.
LABEL_SELECTOR_PATTERN = r"^[A-Za-z0-9_./=!,()<> -]*$"
LABEL_SELECTOR_MAX_LENGTH = 512

_LABEL = re.compile(DNS1123_LABEL_PATTERN)
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_PATTERN)
_SELECTOR = re.compile(LABEL_SELECTOR_PATTERN)


def is_namespace(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX_LENGTH and _LABEL.fullmatch(value) is not None


def validate_namespace(namespace: str) -> str:
    if not is_namespace(namespace):
        raise ToolError(
            f"Invalid namespace {_shown(namespace)}: a namespace is a DNS-1123 label of at most "
            f"{DNS1123_LABEL_MAX_LENGTH} characters: lowercase letters, digits and '-', starting and ending "
            "with a letter or digit."
        )
    return namespace


def validate_object_name(name: str, kind: str) -> str:
    """Pod and Deployment names are DNS-1123 subdomains; ``kind`` names the object in the message."""
    if len(name) > DNS1123_SUBDOMAIN_MAX_LENGTH or not _SUBDOMAIN.fullmatch(name):
        raise ToolError(
            f"Invalid {kind} name {_shown(name)}: it must be a DNS-1123 subdomain of at most "
            f"{DNS1123_SUBDOMAIN_MAX_LENGTH} characters: lowercase letters, digits, '-' and '.', starting and "
            "ending with a letter or digit."
        )
    return name


def validate_label_selector(selector: str) -> str:
    if len(selector) > LABEL_SELECTOR_MAX_LENGTH:
        raise ToolError(f"The label selector is too long: at most {LABEL_SELECTOR_MAX_LENGTH} characters.")
    if not _SELECTOR.fullmatch(selector):
        raise ToolError(
            f"Invalid label selector {_shown(selector)}: use Kubernetes selector syntax such as "
            "'app=web', 'tier!=cache', 'env in (prod,staging)' or 'app=web,tier=frontend'."
        )
    return selector


def _shown(value: str) -> str:
    """The offending value, cut short: echoing a huge argument back wastes the model's context."""
    return repr(value if len(value) <= 80 else value[:77] + "...")
