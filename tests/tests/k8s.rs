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
