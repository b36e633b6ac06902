"""Given: the objects a test starts from (the model's Service, simulated traffic scraped by a real
Prometheus, the ModelRollouts), applied without waiting; When waits."""

from __future__ import annotations

import json
from typing import Any

from modelrollout_dev import PrometheusServer
from modelrollout_dev.model_traffic import Behaviour, ModelTraffic, ready_pods_reader
from modelrollout_dev.preview_traffic import PreviewedTraffic, preview_reader
from modelrollout_dev.route_traffic import Client, RoutedTraffic, route_table_reader

from ..fixtures.model_servers import RoutedModel, serves_alone
from .env import Env
from .kubectl import create_service
from .specs import base_spec
from .when import When


class Given:
    def __init__(self, env: Env) -> None:
        self.env = env

    def service(self) -> Given:
        create_service(self.env, self.env.model)
        return self

    def model_traffic(
        self,
        behaviours: dict[str, Behaviour],
        rps: float = 1000.0,
        *,
        scrape_operator: bool = False,
        through: tuple[str, str] | None = None,
        preview: float = 0.0,
        clients: tuple[Client, ...] = ((1.0, {}),),
    ) -> Given:
        """Simulated clients calling the Service, scraped by a real Prometheus every second, and
        the operator's own /metrics with them when `scrape_operator`. `through` (kind, name): the
        clients come through that HTTPRoute or VirtualService, split by its weights as a Gateway
        or a mesh would (`route_traffic`), with its header routes and mirrors: `clients` are the
        shares of the requests and the headers each sends. `preview` (0..1): that share of the
        requests goes to the Service `status.blueGreen.previewService` names, as testers of a
        BlueGreen candidate do (with `through` only)."""
        env = self.env
        kubectl = lambda *a, **k: env.cluster.kubectl(*a, **k)  # noqa: E731
        pods = ready_pods_reader(kubectl, env.namespace, env.model)
        assert not preview or through is not None, "preview clients come beside a route's clients"
        routed = dict(
            namespace=env.namespace,
            model=env.model,
            rps=rps,
            behaviours=behaviours,
            ready_pods=pods,
            read_table=route_table_reader(kubectl, env.namespace, env.model, *through, rollout=env.name)
            if through is not None
            else (lambda: None),
            clients=clients,
        )
        traffic = (
            PreviewedTraffic(**routed, read_preview=preview_reader(kubectl, env.namespace, env.name),
                             preview_share=preview)
            if preview
            else RoutedTraffic(**routed)
            if through is not None
            else ModelTraffic(namespace=env.namespace, model=env.model, rps=rps, behaviours=behaviours, ready_pods=pods)
        ).start()  # fmt: skip
        env.traffic = traffic
        targets = [traffic.target]
        if scrape_operator:
            assert env.operator.metrics_port, "the operator serves no /metrics"
            targets.append(f"127.0.0.1:{env.operator.metrics_port}")
        env.prometheus = PrometheusServer(targets=targets).start()
        return self

    def object(self, body: dict[str, Any], field_manager: str) -> Given:
        """Any object, server-side applied by `field_manager` (another team's fields, which the
        operator's writes must leave as they are)."""
        self.env.cluster.kubectl(
            "apply", "--server-side", f"--field-manager={field_manager}", "-f", "-", input=json.dumps(body)
        )
        return self

    def operator_flags(self, *flags: str) -> Given:
        """The test's operator, restarted with more flags, before anything is applied."""
        operator = self.env.operator
        operator.stop()
        operator.args = (*operator.args, *flags)
        operator.start()
        return self

    def secret(self, name: str, values: dict[str, str], labels: dict[str, str] | None = None) -> Given:
        body = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "stringData": values,
            "metadata": {"name": name, "namespace": self.env.namespace, **({"labels": labels} if labels else {})},
        }  # fmt: skip
        self.env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
        return self

    def analysis(self, metrics: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        assert self.env.prometheus is not None, "call model_traffic() first"
        analysis = {
            "interval": "5s", "minSamples": 100, "maxDuration": "60s",
            "prometheus": {"address": self.env.prometheus.url}, "metrics": metrics,
        }  # fmt: skip
        analysis.update(options)
        return analysis

    def rollout(self, spec: dict[str, Any], name: str | None = None) -> When:
        self.apply(spec, name)
        return When(self.env)

    def routed_stable(self, routed: RoutedModel, strategy: dict[str, Any] | None = None) -> When:
        """A stable v1 served through the model router (`provider: router`): Promoted, the
        router's ConfigMap sending it everything and nothing else, the router ready. One replica,
        so each version keeps its one pod while the weights move (capacity rounds up): a pod that
        changed under the users would miss requests (a kwok pod is Ready before its model server
        listens). `strategy`: the spec's, but for its traffic (a Canary with one 50% step when
        None)."""
        env = self.env
        self.service()
        spec = base_spec(env, steps=[{"setWeight": 50}], candidate=None, replicas=1)
        spec["strategy"] = {**(strategy or spec["strategy"]), "traffic": {"provider": "router"}}
        when = self.rollout(spec).wait_for_phase("Promoted", timeout=60)
        alone = lambda: serves_alone(env.cluster, env.namespace, env.name, "v1")  # noqa: E731
        routed.wait(alone, "the router's ConfigMap sending v1 100% and nothing else")
        routed.wait(routed.ready, "the router ready")
        return when

    def apply(
        self, spec: dict[str, Any], name: str | None = None, labels: dict[str, str] | None = None
    ) -> Given:
        metadata = {
            "name": name or self.env.name,
            "namespace": self.env.namespace,
            **({"labels": labels} if labels else {}),
        }
        body = {
            "apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "metadata": metadata, "spec": spec,
        }  # fmt: skip
        self.env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
        return self

    def when(self) -> When:
        return When(self.env)
