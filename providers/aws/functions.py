"""Functions -> Lambda: its log group (created first, with retention), its own role, the function, and
for asynchronous triggers a failure queue so no event is dropped silently.

- The log group is declared before the function and the function depends on it: otherwise Lambda
  creates `/aws/lambda/<name>` itself on the first invocation, without retention, and the next deploy
  fails on "already exists".
- Secrets never sit in the Lambda configuration (anyone with lambda:GetFunctionConfiguration reads its
  environment): each granted secret is an SSM SecureString parameter (one per blueprint secret, app
  owned), the role may read exactly the parameters of its function's secrets, and the environment holds
  only their names (`DEPLOYER_SECRET_PARAMETERS`). The shim loads them at cold start and sets them as
  environment variables, so handlers read `os.environ["STRIPE_KEY"]` as on every other cloud.
- S3, SNS and EventBridge Scheduler invoke Lambda asynchronously: after Lambda's two retries an event
  would be dropped. A function with such a trigger gets a failure queue (`<fn>_failed`, 14 days) as the
  on-failure destination of its asynchronous invocations (FunctionEventInvokeConfig), and schedules
  use it as their dead-letter queue too.
- `max_instances` is reserved concurrency, except on a queue consumer, where it is the event source
  mapping's maximum concurrency (queues.py): reserved concurrency there makes SQS poll, get throttled
  and dead-letter messages that never ran.
"""

from __future__ import annotations

from deployer.blueprint.model import BucketTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger
from deployer.naming import store_env
from deployer.resources.compile import FunctionRef
from deployer.resources.graph import APP, Resource, function as owner
from deployer.resources.values import Archive, Secret
from providers.aws import iam, names
from providers.aws.context import Context

SHIM_HANDLER = "deployer_shim.handler"
#: Standard parameters hold 4 KB; Intelligent-Tiering stays Standard (free) and turns Advanced (8 KB) for a
#: larger value (a PEM bundle, a kubeconfig) instead of failing PutParameter
SECRET_TIER = "Intelligent-Tiering"
FAILURE_RETENTION = 14 * 24 * 3600
ASYNC_TRIGGERS = (BucketTrigger, TopicTrigger, ScheduleTrigger)


def environment(ctx: Context, function: str) -> dict:
    """The function's environment: user env, secret parameter names, then the DEPLOYER_* variables."""
    fn = ctx.bp.functions[function]
    variables: dict = dict(fn.env)
    if fn.secrets:
        variables[names.SECRETS_ENV] = ",".join(names.secret_parameter(ctx.bp, s) for s in fn.secrets)
    variables.update({"DEPLOYER_CLOUD": "aws", "DEPLOYER_APP": ctx.bp.stage_name(), "DEPLOYER_FUNCTION": function})
    variables.update(store_env(ctx.bp, function, lambda store: ctx.store(store).locator))
    return dict(sorted(variables.items()))


def secret_parameter(ctx: Context, secret: str) -> Resource:
    """The SecureString parameter of one blueprint secret (declared once, by the first function granted it)."""
    logical = f"app-secret-{secret}"
    if logical in ctx.g:
        return ctx.g.get(logical)
    return ctx.g.add("aws:ssm/parameter:Parameter", logical, APP, name=names.secret_parameter(ctx.bp, secret),
                     type="SecureString", value=Secret(secret), tier=SECRET_TIER,
                     description=f"Secret {secret} of {ctx.bp.stage_name()} (deployer)")


def has_async_trigger(ctx: Context, function: str) -> bool:
    return any(isinstance(t, ASYNC_TRIGGERS) for t in ctx.bp.functions[function].triggers)


def consumes_queue(ctx: Context, function: str) -> bool:
    return any(isinstance(t, QueueTrigger) for t in ctx.bp.functions[function].triggers)


def failure_queue(ctx: Context, function: str) -> Resource | None:
    if not has_async_trigger(ctx, function):
        return None
    return ctx.g.add("aws:sqs/queue:Queue", names.fn(function, "failed"), owner(function), retain=ctx.keep_data,
                     name=names.failure_queue_name(ctx.bp, function), message_retention_seconds=FAILURE_RETENTION,
                     sqs_managed_sse_enabled=True)


def declare(ctx: Context, function: str) -> FunctionRef:
    fn = ctx.bp.functions[function]
    physical = names.function_name(ctx.bp, function)
    log_group = ctx.g.add("aws:cloudwatch/logGroup:LogGroup", names.fn(function, "logs"), owner(function),
                          name=names.log_group(ctx.bp, function), retention_in_days=ctx.settings.log_retention_days)
    secrets = [secret_parameter(ctx, s) for s in fn.secrets]
    failures = failure_queue(ctx, function)
    role, policy = iam.function_role(ctx, function, log_group, secrets, failures)
    lam = ctx.g.add(
        "aws:lambda/function:Function", names.fn(function, "function"), owner(function),
        depends_on=[log_group, policy],
        name=physical,
        role=role.out("arn"),
        runtime=fn.runtime,
        handler=SHIM_HANDLER,
        code=Archive(str(ctx.artifacts[function].path)),
        architectures=[ctx.settings.architecture],
        memory_size=fn.memory,
        timeout=fn.timeout,
        reserved_concurrent_executions=None if consumes_queue(ctx, function) else fn.max_instances,
        environment={"variables": environment(ctx, function)},
        logging_config={"log_format": "Text", "log_group": log_group.out("name")},
    )
    if failures is not None:
        ctx.g.add("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", names.fn(function, "async"),
                  owner(function), depends_on=[lam, policy], function_name=physical, maximum_retry_attempts=2,
                  destination_config={"on_failure": {"destination": failures.out("arn")}})
    return FunctionRef(function, lam, physical, {"failures": failures})
