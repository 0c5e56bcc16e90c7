// Checks rendered Kubernetes manifests (YAML on stdin, as `kubectl kustomize` prints them):
// 1. every object validates against its Kubernetes schema (kubernetes-models; the Prometheus Operator's for its kinds),
//    and every PromQL expression (alert rules, the Grafana dashboard's panels) parses with Prometheus' own grammar;
// 2. policies: restricted security contexts, probes, requests and limits, pinned images, a PDB and a NetworkPolicy for
//    every workload, a default-deny policy, no Secret objects and no secret values in the repository.
// Prints {"objects": n, "kinds": {...}, "errors": [...]} and exits 1 on any error.
// --drop KIND/NAME:path.to.field removes a field first (the tests use it to prove each check bites).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

// The packages of package.json, installed where CALLMESH_K8S_TOOLS says (./callmesh test installs them there).
const require = createRequire(process.env.CALLMESH_K8S_TOOLS ? process.env.CALLMESH_K8S_TOOLS + "/package.json" : import.meta.url);
const { parseAllDocuments } = require("yaml");
const errors = [];
const docs = parseAllDocuments(readFileSync(0, "utf8")).map(d => d.toJS()).filter(Boolean);

for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] !== "--drop") continue;
  const [target, path] = process.argv[++i].split(":");
  const object = docs.find(o => `${o.kind}/${o.metadata?.name}` === target);
  if (!object) { errors.push(`--drop: no ${target}`); continue; }
  if (!path) { docs.splice(docs.indexOf(object), 1); continue; }
  const keys = path.split(".");
  const parent = keys.slice(0, -1).reduce((o, k) => o?.[k], object);
  if (parent === undefined) errors.push(`--drop: no ${path} in ${target}`);
  else delete parent[keys.at(-1)];
}

function model(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const module = group === "monitoring.coreos.com"
    ? `@kubernetes-models/prometheus-operator/${group}/${version}`
    : group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
  try { return require(module)[kind]; } catch { return undefined; }
}

const kinds = {};
for (const object of docs) {
  const id = `${object.kind}/${object.metadata?.name}`;
  kinds[object.kind] = (kinds[object.kind] ?? 0) + 1;
  const Model = model(object.apiVersion ?? "", object.kind ?? "");
  if (!Model) { errors.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`); continue; }
  try { new Model(object).validate(); } catch (e) { errors.push(`${id}: schema: ${e.message}`); }
  if (object.kind === "Secret") errors.push(`${id}: a Secret in the manifests (reference one created out of band)`);
}

// PromQL: a rule or panel that does not parse would never fire or draw.
const { parser: promql } = require("@prometheus-io/lezer-promql");
function checkQuery(where, expr) {
  let bad = false;
  promql.parse(expr).iterate({ enter: node => { if (node.type.isError) bad = true; } });
  if (bad) errors.push(`${where}: PromQL does not parse: ${expr.trim()}`);
}
for (const object of docs) {
  const id = `${object.kind}/${object.metadata?.name}`;
  if (object.kind === "PrometheusRule")
    for (const group of object.spec?.groups ?? [])
      for (const rule of group.rules ?? []) checkQuery(`${id} ${rule.alert ?? rule.record}`, rule.expr);
  if (object.kind === "ConfigMap" && object.metadata?.labels?.grafana_dashboard)
    for (const [file, text] of Object.entries(object.data ?? {}))
      for (const panel of JSON.parse(text).panels ?? [])
        for (const target of panel.targets ?? []) checkQuery(`${id} ${file} "${panel.title}"`, target.expr);
}

const workloads = docs.filter(o => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));
const matches = (selector, labels) => selector && Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
const secretish = /PASSWORD|SECRET|TOKEN|_KEY$|KEYHEX|POSTGRES$/;

for (const workload of workloads) {
  const id = `${workload.kind}/${workload.metadata.name}`;
  const pod = workload.spec?.template?.spec ?? {};
  const labels = workload.spec?.template?.metadata?.labels;
  if (pod.securityContext?.runAsNonRoot !== true) errors.push(`${id}: pod securityContext.runAsNonRoot is not true`);
  const containers = [...(pod.initContainers ?? []).map(c => [c, true]), ...(pod.containers ?? []).map(c => [c, false])];
  for (const [container, init] of containers) {
    const cid = `${id} container ${container.name}`;
    const security = container.securityContext ?? {};
    if (!security) errors.push(`${cid}: no securityContext`);
    if (security.allowPrivilegeEscalation !== false) errors.push(`${cid}: allowPrivilegeEscalation is not false`);
    if (security.readOnlyRootFilesystem !== true) errors.push(`${cid}: readOnlyRootFilesystem is not true`);
    if (!(security.capabilities?.drop ?? []).includes("ALL")) errors.push(`${cid}: capabilities do not drop ALL`);
    if ((security.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== "RuntimeDefault")
      errors.push(`${cid}: seccompProfile is not RuntimeDefault`);
    for (const kind of ["requests", "limits"])
      for (const resource of ["cpu", "memory"])
        if (!container.resources?.[kind]?.[resource]) errors.push(`${cid}: no ${resource} ${kind}`);
    if (!init)
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
        if (!container[probe]) errors.push(`${cid}: no ${probe}`);
    if (!/:[\w][\w.-]*$|@sha256:/.test(container.image ?? "") || /:latest$/.test(container.image))
      errors.push(`${cid}: image ${container.image} is not pinned to a tag or digest`);
    for (const variable of container.env ?? [])
      if (variable.value && secretish.test(variable.name)) errors.push(`${cid}: ${variable.name} holds a literal value (use a secretKeyRef)`);
    // A certificate or key directory the container is told about must be mounted there, from a Secret.
    for (const variable of container.env ?? []) {
      if (!/_DIR$/.test(variable.name) || !variable.value?.startsWith("/etc/")) continue;
      const mount = (container.volumeMounts ?? []).find(m => m?.mountPath === variable.value);
      const volume = mount && (pod.volumes ?? []).find(v => v?.name === mount.name);
      if (!volume?.secret?.secretName) errors.push(`${cid}: ${variable.name} (${variable.value}) is not a mounted Secret`);
    }
  }
  if (!docs.some(o => o.kind === "PodDisruptionBudget" && matches(o.spec?.selector, labels)))
    errors.push(`${id}: no PodDisruptionBudget selects its pods`);
  if (!docs.some(o => o.kind === "NetworkPolicy" && o.spec?.podSelector?.matchLabels && matches(o.spec.podSelector, labels)))
    errors.push(`${id}: no NetworkPolicy of its own`);
}
if (workloads.length && !docs.some(o => o.kind === "NetworkPolicy" && Object.keys(o.spec?.podSelector ?? {}).length === 0
    && (o.spec.policyTypes ?? []).includes("Ingress") && (o.spec.policyTypes ?? []).includes("Egress") && !o.spec.ingress && !o.spec.egress))
  errors.push("no default-deny NetworkPolicy");
for (const hpa of docs.filter(o => o.kind === "HorizontalPodAutoscaler")) {
  const target = hpa.spec.scaleTargetRef;
  if (!workloads.some(w => w.kind === target.kind && w.metadata.name === target.name))
    errors.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: scales ${target.kind}/${target.name}, which is not here`);
}

console.log(JSON.stringify({ objects: docs.length, kinds, errors }, null, 1));
process.exit(errors.length ? 1 : 0);
