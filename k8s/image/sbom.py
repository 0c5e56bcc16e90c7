#!/usr/bin/env python3
"""Prints a CycloneDX 1.5 SBOM of an image: its Debian packages (dpkg's list) and the NuGet packages and runtime packs its
.NET app was published with (the app's *.deps.json, with their SHA-512).
Usage: sbom.py IMAGE_NAME VERSION DEBIAN_PACKAGES_TSV APP_DIR"""
import base64, datetime, glob, json, os, sys, uuid

name, version, debian_tsv, app = sys.argv[1:5]
components = []
with open(debian_tsv) as packages:
    for line in packages:
        package, package_version, arch = line.rstrip("\n").split("\t")
        components.append({"type": "library", "name": package, "version": package_version,
                           "purl": f"pkg:deb/debian/{package}@{package_version}?arch={arch}&distro=debian-12"})
for deps in glob.glob(os.path.join(app, "*.deps.json")):
    with open(deps) as f:
        libraries = json.load(f).get("libraries", {})
    for key, library in sorted(libraries.items()):
        if library.get("type") not in ("package", "runtimepack"):
            continue
        package, package_version = key.split("/", 1)
        component = {"type": "library", "name": package, "version": package_version, "purl": f"pkg:nuget/{package}@{package_version}"}
        if library.get("sha512", "").startswith("sha512-"):
            component["hashes"] = [{"alg": "SHA-512", "content": base64.b64decode(library["sha512"][7:]).hex()}]
        if not any(c["purl"] == component["purl"] for c in components):
            components.append(component)

print(json.dumps({
    "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "serialNumber": f"urn:uuid:{uuid.uuid4()}",
    "metadata": {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": {"components": [{"type": "application", "name": "callmesh k8s/image/sbom.py"}]},
        "component": {"type": "container", "name": name, "version": version},
    },
    "components": components,
}, indent=1))
