"""The AWS Load Balancer Controller's admission webhooks, and what the program does about them.

Upstream facts, read in kubernetes-sigs/aws-load-balancer-controller at tag v3.5.0 (chart 3.5.0, the version
pinned in infra/charts.py), helm/aws-load-balancer-controller/:

- values.yaml: ``enableServiceMutatorWebhook: true`` ("makes this controller the default for all new services of
  type LoadBalancer"), ``serviceMutatorWebhookConfig.failurePolicy: Fail``, ``namespaceSelectors`` empty,
  ``operations: [CREATE]``.
- templates/webhook.yaml: the ``mservice.elbv2.k8s.aws`` entry of the MutatingWebhookConfiguration sits inside
  ``{{- if .Values.enableServiceMutatorWebhook }}``; with no namespace selector and an object selector that
  excludes only the controller's own objects, every Service created anywhere in the cluster is sent to the
  controller's pods, and rejected while they are not yet serving (the API server cannot call the webhook and
  the policy is Fail). The chart's pods take tens of seconds to become ready, and Karpenter, metrics-server,
  kube-prometheus-stack and the platform's Services are created in that window: the deploy race of
  kubernetes-sigs/aws-load-balancer-controller#4140.
- templates/webhook.yaml, ValidatingWebhookConfiguration: ``vingress.elbv2.k8s.aws`` validates every Ingress
  (no namespace selector by default) with ``failurePolicy: {{ .Values.webhookConfig.ingressValdationFailurePolicy
  }}``, which values.yaml sets to ``Fail``: an Ingress can only be created once the controller serves.

No Service here is of type LoadBalancer, so the Service webhook does nothing useful: the program turns it off,
and orders only what the controller must serve first (every Ingress) after the controller's release.
"""

from __future__ import annotations

from infra.alb_controller import SERVICE_MUTATOR_WEBHOOK_VALUE
from infra.charts import ALB_CONTROLLER
from infra.offline import ProgramRun, Registration
from tests.infra.support import HELM_RELEASE, k8s_objects_of, kubernetes_objects, run_with

# The chart version whose templates the facts above were read from. A bump must re-read them.
READ_AT_CHART_VERSION = "3.5.0"


def _controller(run: ProgramRun) -> Registration:
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.inputs["name"] == "aws-load-balancer-controller"]
    return release


def test_the_facts_were_read_at_the_pinned_chart_version() -> None:
    assert ALB_CONTROLLER.version == READ_AT_CHART_VERSION


def test_the_service_mutating_webhook_is_not_installed(program: ProgramRun) -> None:
    values = _controller(program).inputs["values"]
    assert SERVICE_MUTATOR_WEBHOOK_VALUE == "enableServiceMutatorWebhook"  # the value the template tests
    assert values.get(SERVICE_MUTATOR_WEBHOOK_VALUE) is False


def test_no_service_needs_the_webhook(program: ProgramRun) -> None:
    """The webhook only defaults Services of type LoadBalancer to this controller; there are none."""
    services = k8s_objects_of(program, "Service")
    assert services, "the program registers Services"
    assert all(service["spec"].get("type", "ClusterIP") != "LoadBalancer" for service in services)
    for release in program.of_type(HELM_RELEASE):
        assert "LoadBalancer" not in repr(release.inputs["values"]), release.name


def test_every_ingress_waits_for_the_controller() -> None:
    """Ingresses go through the controller's validating webhook (failurePolicy Fail) however they are exposed."""
    run = run_with({"grafanaExposure": "alb"}, preview=False)
    assert run.error is None
    controller = _controller(run).urn
    ingresses = [r for r in kubernetes_objects(run) if r.inputs.get("kind") == "Ingress" or r.type.endswith(":Ingress")]
    assert {r.inputs["metadata"]["name"] for r in ingresses} == {"agentic-ingress", "grafana"}
    for ingress in ingresses:
        assert controller in ingress.dependencies, ingress.name
