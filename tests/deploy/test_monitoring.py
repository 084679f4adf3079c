"""The monitoring profile fits the product: Prometheus scrapes the ports the API and the workers
serve their metrics on, and every metric the Grafana dashboard plots is one livehost exports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from scheduler.metrics import WorkerMetrics
from tests.helpers.process import ROOT

DEPLOY = Path(ROOT) / "deploy"


def exported() -> set[str]:
    """Every metric name a worker registers, and those the API's metrics module defines."""
    names = set()
    worker = WorkerMetrics(CollectorRegistry())
    for family in worker.registry.collect():
        names.add(family.name)
    source = (Path(ROOT) / "backend/metrics.py").read_text()
    names |= set(re.findall(r'"(livehost_[a-z_]+)"', source))
    return names


def test_prometheus_scrapes_where_the_api_and_the_workers_serve():
    compose = yaml.safe_load((Path(ROOT) / "docker-compose.yml").read_text())
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets["livehost-api"] == ["api:8000"] and "8000" in " ".join(compose["services"]["api"]["command"])
    port = re.search(r":-(\d+)", compose["services"]["worker"]["environment"]["LIVEHOST_METRICS_PORT"]).group(1)
    assert targets["livehost-worker"] == [f"worker:{port}"]
    grafana = compose["services"]["grafana"]
    assert "./deploy/grafana/livehost.json:/var/lib/grafana/dashboards/livehost.json:ro" in grafana["volumes"]


def test_every_metric_the_dashboard_plots_is_exported():
    dashboard = json.loads((DEPLOY / "grafana/livehost.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    plotted = {re.sub(r"_(bucket|total|count|sum)$", "", name)
               for expr in exprs for name in re.findall(r"livehost_[a-z_]+", expr)}
    assert plotted and plotted <= exported(), plotted - exported()
