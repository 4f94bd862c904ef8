//! The Kubernetes manifests agree with the code: the Ingress routes exactly the path table, to
//! the right Services, and every Deployment probes `/health` and `/ready`.

use serde_yaml::Value;
use tiketi_core::paths::PATH_TABLE;
use tiketi_tests::workspace_root;

fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(workspace_root().join("k8s/base").join(file))
        .unwrap_or_else(|e| panic!("k8s/base/{file}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| <Value as serde::Deserialize>::deserialize(doc).expect("valid YAML"))
        .collect()
}

#[test]
fn ingress_paths_equal_the_path_table() {
    let ingress = &documents("ingress.yaml")[0];
    assert_eq!(ingress["kind"], "Ingress");
    let mut routed: Vec<(String, String)> = Vec::new();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            assert_eq!(path["pathType"], "Prefix");
            routed.push((
                path["path"].as_str().unwrap().to_owned(),
                path["backend"]["service"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
    }
    let mut expected: Vec<(String, String)> = PATH_TABLE
        .iter()
        .flat_map(|(service, prefixes)| {
            prefixes
                .iter()
                .map(move |p| ((*p).to_owned(), format!("tiketi-{}", service.name())))
        })
        .collect();
    routed.sort();
    expected.sort();
    assert_eq!(routed, expected);
}

#[test]
fn every_deployment_probes_health_and_ready() {
    for service in tiketi_core::Service::ALL {
        let docs = documents(&format!("{}.yaml", service.name()));
        let deployment = docs
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .expect("a Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"],
            Value::Bool(true),
            "{service:?}"
        );
        let svc = docs
            .iter()
            .find(|d| d["kind"] == "Service")
            .expect("a Service");
        assert_eq!(
            svc["metadata"]["name"].as_str(),
            Some(format!("tiketi-{}", service.name()).as_str())
        );
    }
}

fn ingress_routes(ingress: &Value) -> Vec<(String, String)> {
    let mut routed = Vec::new();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            routed.push((
                path["path"].as_str().unwrap().to_owned(),
                path["backend"]["service"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
    }
    routed.sort();
    routed
}

#[test]
fn every_overlay_renders_and_routes_the_path_table() {
    let mut expected: Vec<(String, String)> = PATH_TABLE
        .iter()
        .flat_map(|(service, prefixes)| {
            prefixes
                .iter()
                .map(move |p| ((*p).to_owned(), format!("tiketi-{}", service.name())))
        })
        .collect();
    expected.sort();
    for overlay in ["dev", "production"] {
        let dir = workspace_root().join("k8s/overlays").join(overlay);
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl is on PATH (scripts/test.sh installs it into .tiketi/venv)");
        assert!(
            output.status.success(),
            "{overlay}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|doc| <Value as serde::Deserialize>::deserialize(doc).unwrap())
            .collect();
        let ingress = docs
            .iter()
            .find(|d| d["kind"] == "Ingress")
            .expect("an Ingress");
        assert_eq!(ingress_routes(ingress), expected, "{overlay}");
        for doc in &docs {
            if doc["kind"] == "Deployment" {
                let image = doc["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap();
                assert!(
                    !image.ends_with(":latest"),
                    "{overlay} leaves {image} unpinned"
                );
            }
        }
        let hpas = docs
            .iter()
            .filter(|d| d["kind"] == "HorizontalPodAutoscaler")
            .count();
        let pdbs = docs
            .iter()
            .filter(|d| d["kind"] == "PodDisruptionBudget")
            .count();
        assert_eq!((hpas, pdbs), (4, 4), "{overlay}");
    }
}

#[test]
fn the_images_build_with_the_script_the_tests_run() {
    let dockerfile = std::fs::read_to_string(workspace_root().join("Dockerfile")).unwrap();
    let test_script = std::fs::read_to_string(workspace_root().join("scripts/test.sh")).unwrap();
    assert!(dockerfile.contains("RUN scripts/build-binaries.sh release"));
    assert!(test_script.contains("scripts/build-binaries.sh dev"));
    for service in tiketi_core::Service::ALL {
        let name = service.name();
        assert!(
            dockerfile.contains(&format!("FROM runtime AS {name}"))
                && dockerfile.contains(&format!("/usr/local/bin/tiketi-{name}")),
            "no image target for {name}"
        );
    }
    assert!(
        dockerfile.contains("USER 10001:10001"),
        "the runtime image must not run as root"
    );
}
