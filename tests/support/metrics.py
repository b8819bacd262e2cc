"""Reading a ``/metrics`` answer as Prometheus reads it."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(exposition: str) -> Samples:
    """Every sample, by name and labels, parsed as Prometheus parses it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(exposition: str, name: str, **labels: str) -> float:
    return samples(exposition).get((name, tuple(sorted(labels.items()))), 0.0)


def assert_no_identifier_in_labels(exposition: str, *identifiers: str) -> None:
    labels = " ".join(f"{key}={val}" for (_, pairs) in samples(exposition) for key, val in pairs)
    for identifier in identifiers:
        assert identifier not in labels, f"{identifier} in a label: {labels}"
