"""CloudFormation (gap 1): moto's CloudFormation skips ``AWS::SecretsManager::Secret`` with a
warning, so ``Ref`` to the secret is None; the rehearsal gives it a resource model. Also reads
a JSON template body as JSON (moto reads every body with the slow pure-Python YAML loader)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from moto.secretsmanager.models import secretsmanager_backends

from tools.localaws.patches.core import Patcher, Target
from tools.localaws.simulation import Simulation

GAP = "1: CloudFormation skips AWS::SecretsManager::Secret"

CREATE_SECRET = Target(
    "secretsmanager_create_secret",
    "moto.secretsmanager.models:SecretsManagerBackend.create_secret",
    "(self, name: 'str', secret_string: 'str | None', secret_binary: 'str | None', "
    "description: 'str | None', tags: 'list[dict[str, str]] | None', kms_key_id: 'str | "
    "None', client_request_token: 'str | None', replica_regions: 'list[dict[str, str]]', "
    "force_overwrite: 'bool') -> 'str'",
    GAP,
    replaced=False,
)


class _CfnSecret:
    """``AWS::SecretsManager::Secret`` for moto's CloudFormation (``Ref`` gives the ARN)."""

    def __init__(self, arn: str, name: str) -> None:
        self.arn = arn
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in {"Id", "Arn"}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _CfnSecret:
        properties = cloudformation_json.get("Properties", {})
        secret_string = properties.get("SecretString")
        if secret_string is None and "GenerateSecretString" in properties:
            secret_string = "{}"
        if isinstance(secret_string, (dict, list)):
            secret_string = json.dumps(secret_string)
        backend = secretsmanager_backends[account_id][region_name]
        short = backend.create_secret(
            name=resource_name,
            secret_string=secret_string,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags") or [],
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(short)["ARN"], resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.arn, {}, account_id, region_name)


MODEL_MAP = Target(
    "cfn_model_map",
    "moto.cloudformation.parsing:get_model_map",
    "() -> dict[str, type[moto.core.common_models.CloudFormationModel]]",
    GAP,
)
NAME_TYPE_MAP = Target(
    "cfn_name_type_map",
    "moto.cloudformation.parsing:get_name_type_map",
    "() -> dict[str, str]",
    GAP,
)


def patch_cfn_secret(patcher: Patcher) -> None:
    """Gap 1: moto's CloudFormation skips ``AWS::SecretsManager::Secret`` (``Ref`` is None).

    Registers a resource model that creates the secret from its ``SecretString`` (after
    CloudFormation resolved ``Fn::Sub`` and friends), so ``Ref ConfigSecret`` resolves to
    the secret's ARN everywhere: the functions' ``CONFIG_SECRET_ID``, policies, outputs.
    """

    def model_map(original: Any) -> Callable[[], dict[str, Any]]:
        return lambda: {**original(), _CfnSecret.cloudformation_type(): _CfnSecret}

    def name_type_map(original: Any) -> Callable[[], dict[str, str]]:
        return lambda: {**original(), _CfnSecret.cloudformation_type(): "Name"}

    patcher.replace(MODEL_MAP, model_map)
    patcher.replace(NAME_TYPE_MAP, name_type_map)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_cfn_secret(patcher)
    patch_template_parsing(patcher)
    patch_parameter_list(patcher)


# --------------------------------------------------------------------------- list parameters

PARAMETER_LIST = Target(
    "cfn_parameter_list",
    "moto.cloudformation.models:Stack.parameter_list",
    "(self) -> 'list[dict[str, Any]]'",
    "DescribeStacks shows a CommaDelimitedList parameter's value as a Python list's repr",
)


def patch_parameter_list(patcher: Patcher) -> None:
    """moto's DescribeStacks shows the value of a ``CommaDelimitedList`` parameter as the
    Python list it resolved (``"['a', 'b']"``); CloudFormation shows the text given,
    ``"a,b"`` (CloudFormation API Reference, ``Parameter.ParameterValue``: "The input value
    associated with the parameter"). Clients that read the stack's parameters (the
    ``batch-scratch`` command) now see that text.
    """

    def build(original: Any) -> property:
        def parameter_list(self: Any) -> list[dict[str, Any]]:
            listed = original.fget(self)
            for parameter in listed:
                value = parameter.get("ParameterValue")
                if isinstance(value, list):
                    parameter["ParameterValue"] = ",".join(str(item) for item in value)
            return cast("list[dict[str, Any]]", listed)

        return property(parameter_list)

    patcher.replace(PARAMETER_LIST, build)


# --------------------------------------------------------------------------- template parsing

PARSE_TEMPLATE = Target(
    "cfn_parse_template",
    "moto.cloudformation.models:Stack.parse_template",
    "(template: 'str') -> 'dict[str, Any]'",
    "speed: moto reads every template body with the pure-Python YAML loader",
)


def patch_template_parsing(patcher: Patcher) -> None:
    """moto's CreateStack reads the template body with PyYAML's pure-Python loader, a third
    of a rehearsal's fixed cost for the translated template (JSON, hundreds of kB).

    A body that is JSON is now read as JSON (JSON is YAML, so the result is the same);
    anything else is read by moto as before.
    """

    def build(original: Any) -> Any:
        def parse_template(template: str) -> dict[str, Any]:
            if template.lstrip().startswith("{"):
                try:
                    parsed = json.loads(template)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    return parsed
            return cast(dict[str, Any], original.__func__(template))

        return staticmethod(parse_template)

    patcher.replace(PARSE_TEMPLATE, build)
