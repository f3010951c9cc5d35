"""Functions -> Lambda: its log group (created first, with retention), its own role, the function.

The log group is declared before the function and the function depends on it: otherwise Lambda
creates `/aws/lambda/<name>` itself on the first invocation, without retention, and the next deploy
fails on "already exists". Every function runs the shim (`deployer_shim.handler`), which calls the
user's handler with portable events. The environment carries what `deployer.runtime.stores` needs
(docs/contracts.md, "Runtime environment"); granted secrets are Pulumi secrets, masked in state.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.naming import store_env
from providers.aws import iam, names
from providers.aws.context import Context, FunctionRef

SHIM_HANDLER = "deployer_shim.handler"


def environment(ctx: Context, function: str, secret_values: dict[str, str]) -> dict:
    """The function's environment: user env, granted secrets, then the DEPLOYER_* variables."""
    fn = ctx.bp.functions[function]
    variables: dict = dict(fn.env)
    for name in fn.secrets:
        variables[name] = pulumi.Output.secret(secret_values[name])
    variables.update({"DEPLOYER_CLOUD": "aws", "DEPLOYER_APP": ctx.bp.stage_name(), "DEPLOYER_FUNCTION": function})
    variables.update(store_env(ctx.bp, function, lambda store: ctx.store(store).locator))
    return dict(sorted(variables.items()))


def declare(ctx: Context, function: str, secret_values: dict[str, str]) -> FunctionRef:
    fn = ctx.bp.functions[function]
    physical = names.function_name(ctx.bp, function)
    log_group = aws.cloudwatch.LogGroup(f"fn-{function}-logs", name=names.log_group(ctx.bp, function),
                                        retention_in_days=ctx.settings.log_retention_days)
    role, policy = iam.function_role(ctx, function, log_group)
    artifact = ctx.artifacts[function]
    lam = aws.lambda_.Function(
        f"fn-{function}-function",
        name=physical,
        role=role.arn,
        runtime=fn.runtime,
        handler=SHIM_HANDLER,
        code=pulumi.FileArchive(str(artifact.path)),
        architectures=[ctx.settings.architecture],
        memory_size=fn.memory,
        timeout=fn.timeout,
        reserved_concurrent_executions=fn.max_instances,
        environment={"variables": environment(ctx, function, secret_values)},
        logging_config={"log_format": "Text", "log_group": log_group.name},
        opts=pulumi.ResourceOptions(depends_on=[log_group, policy]),
    )
    return FunctionRef(function, physical, lam.arn, lam.invoke_arn, lam)
