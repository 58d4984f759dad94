"""Validates rendered Kubernetes manifests against the Kubernetes JSON schemas (strict: unknown
fields are errors), with kubernetes-validate's schemas, for each Kubernetes version given.

    python validate_manifests.py -k 1.27 -k 1.37 rendered.yaml...

Unlike the `kubernetes-validate` command, a resource whose schema is missing is an error, not a
warning: nothing passes unvalidated. The one custom resource the chart renders, the Prometheus
operator's ServiceMonitor, is checked against the subset of its CRD schema the chart uses
(SERVICE_MONITOR below, strict too), since kubernetes-validate has no CRD schemas.
Run by scripts/helm-check.sh with the Python of its kubernetes-validate virtualenv.
"""

import argparse
import sys

import jsonschema
import kubernetes_validate.utils as kv

_STRING = {"type": "string"}
_LABELS = {"type": "object", "additionalProperties": _STRING}
_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}

# monitoring.coreos.com/v1 ServiceMonitor: the fields of the operator's CRD that the chart sets,
# with the CRD's types and patterns; any other field is rejected, so a typo cannot pass.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": _STRING, "namespace": _STRING, "labels": _LABELS, "annotations": _LABELS},
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": _LABELS},
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STRING}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": _STRING,
                            "path": _STRING,
                            "scheme": {"enum": ["http", "https"]},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            # SafeTLSConfig: the CA from a Secret key, and the name to verify.
                            "tlsConfig": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "serverName": _STRING,
                                    "ca": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "secret": {
                                                "type": "object",
                                                "required": ["key"],
                                                "additionalProperties": False,
                                                "properties": {"name": _STRING, "key": _STRING},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def validate(resource, version):
    """None when the resource is valid for `version`, else the reason."""
    name = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
    if resource.get("apiVersion") == "monitoring.coreos.com/v1" and resource.get("kind") == "ServiceMonitor":
        errors = sorted(jsonschema.Draft202012Validator(SERVICE_MONITOR).iter_errors(resource), key=str)
        if errors:
            error = errors[0]
            return f"{name}: {'.'.join(map(str, error.path))}: {error.message}"
        return None
    try:
        kv.validate(resource, version, strict=True)
    except kv.ValidationError as error:
        return f"{name}: {'.'.join(map(str, error.path))}: {error.message}"
    except kv.SchemaNotFoundError as error:
        return f"{name}: no schema: {error.message}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--kubernetes-version", action="append", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures = 0
    checked = 0
    for path in args.files:
        resources = kv.resources_from_file(path)
        if not resources:
            print(f"ERROR {path}: no manifests")
            failures += 1
        for resource in resources:
            for version in args.kubernetes_version:
                checked += 1
                problem = validate(resource, version)
                if problem:
                    failures += 1
                    print(f"ERROR {path}: Kubernetes {version}: {problem}")
    print(f"{checked - failures} valid, {failures} invalid ({checked} checks: manifests x Kubernetes versions)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
