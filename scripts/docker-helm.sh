#!/bin/sh
# Checks the Helm chart docker/helm/dpc-notify (`make helm-check`, and a step
# of `make docker-check`): its version and appVersion are the VERSION
# file's, its values parse, then `helm lint` and `helm template` (default
# values, and with the chart creating the Secret) when helm is installed or
# installable with apt. Debian 12 has no helm package: then the helm steps
# print one SKIP line with the reason and the script still exits 0.
# Prints PASS/FAIL lines and "N passed, N failed"; exits 1 if any failed.
set -u

cd "$(dirname "$0")/.." || exit 1
CHART=docker/helm/dpc-notify
VERSION=$(cat VERSION)
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

v=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")
av=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")
if [ "$v" = "$VERSION" ] && [ "$av" = "$VERSION" ]; then
	pass "Chart.yaml version and appVersion = VERSION ($VERSION)"
else
	fail "Chart.yaml versions" "version '$v', appVersion '$av', VERSION file '$VERSION'"
fi
if python3 -c 'import sys, yaml
for p in sys.argv[1:]:
    yaml.safe_load(open(p))' "$CHART/Chart.yaml" "$CHART/values.yaml" 2>"${TMPDIR:-/tmp}/helm-yaml.$$"; then
	pass "Chart.yaml and values.yaml parse"
elif grep -q "No module named 'yaml'" "${TMPDIR:-/tmp}/helm-yaml.$$"; then
	echo "SKIP yaml parse: python3-yaml is not installed"
else
	fail "YAML parse" "$(tail -n 3 "${TMPDIR:-/tmp}/helm-yaml.$$")"
fi
rm -f "${TMPDIR:-/tmp}/helm-yaml.$$"

if ! command -v helm >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && apt-cache show helm >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq helm >/dev/null 2>&1
	fi
fi
if ! command -v helm >/dev/null 2>&1; then
	echo "SKIP helm lint/template: helm is not installed and apt has no 'helm' package" \
		"(Debian 12 ships none); install helm from https://helm.sh to run them"
	finish
fi

if out=$(helm lint --strict "$CHART" 2>&1); then
	pass "helm lint --strict"
else
	fail "helm lint" "$(echo "$out" | tail -n 10)"
fi
if out=$(helm template t "$CHART" 2>&1) &&
	echo "$out" | grep -q '^kind: Deployment' && ! echo "$out" | grep -q '^kind: Secret'; then
	pass "helm template: Deployment, no Secret by default"
else
	fail "helm template (defaults)" "$(echo "$out" | tail -n 10)"
fi
if out=$(helm template t "$CHART" --set secrets.create=true \
	--set secrets.values.DPC_NOTIFY_AUTH_TOKEN=x 2>&1) && echo "$out" | grep -q '^kind: Secret'; then
	pass "helm template --set secrets.create=true renders the Secret"
else
	fail "helm template (secrets.create)" "$(echo "$out" | tail -n 10)"
fi
finish
