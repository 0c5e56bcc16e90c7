// Prints the rule groups of the PrometheusRule objects in rendered manifests (YAML on stdin) as a Prometheus rule file
// (JSON is YAML), so promtool loads and unit-tests exactly what kustomize renders.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(process.env.CALLMESH_K8S_TOOLS ? process.env.CALLMESH_K8S_TOOLS + "/package.json" : import.meta.url);
const { parseAllDocuments } = require("yaml");
const groups = parseAllDocuments(readFileSync(0, "utf8")).map(d => d.toJS())
  .filter(o => o?.kind === "PrometheusRule").flatMap(o => o.spec?.groups ?? []);
process.stdout.write(JSON.stringify({ groups }, null, 1));
