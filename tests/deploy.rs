//! The deployment files stay in step with the code: docker-compose.yml parses, its services have
//! health checks and start in order, the GPU profile reserves a GPU, every `${VAR}` it needs is in
//! .env.example (and nothing there is unused), and every Regula setting it passes is a real
//! configuration key whose value Regula accepts. No Docker engine runs here; when the docker CLI
//! is installed, `docker compose config` checks the file as well.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regula::config::Settings;
use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).expect("compose file");
    let mut value: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    value.apply_merge().expect("merge keys");
    value
}

fn env_example() -> BTreeMap<String, String> {
    std::fs::read_to_string(root().join(".env.example"))
        .expect(".env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `$$` for a literal `$`.
/// Records each variable used and whether it had a default.
fn interpolate(
    text: &str,
    env: &BTreeMap<String, String>,
    used: &mut BTreeMap<String, bool>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(body_end) = rest.find('}').filter(|_| rest.starts_with("${")) else {
            out.push('$');
            rest = &rest[1..];
            continue;
        };
        let body = &rest[2..body_end];
        rest = &rest[body_end + 1..];
        let (name, default) = if let Some((n, d)) = body.split_once(":-") {
            (n, Some(d.to_string()))
        } else if let Some((n, _)) = body.split_once(":?") {
            (n, None)
        } else {
            (body, None)
        };
        used.entry(name.to_string())
            .and_modify(|d| *d &= default.is_some())
            .or_insert(default.is_some());
        let value = env.get(name).cloned().or(default).unwrap_or_default();
        out.push_str(&value);
    }
    out.push_str(rest);
    out
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    &compose["services"][name]
}

fn environment(
    compose: &Value,
    name: &str,
    env: &BTreeMap<String, String>,
    used: &mut BTreeMap<String, bool>,
) -> BTreeMap<String, String> {
    let map = service(compose, name)["environment"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{name} has an environment"));
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => panic!("{name}: unexpected value {other:?}"),
            };
            (
                k.as_str().expect("key").to_string(),
                interpolate(&value, env, used),
            )
        })
        .collect()
}

/// Whether `REGULA__A__B` names a field of the settings.
fn is_setting(var: &str, defaults: &serde_json::Value) -> bool {
    let Some(path) = var.strip_prefix("REGULA__") else {
        return true;
    };
    let mut node = defaults;
    for part in path.split("__") {
        match node.get(part.to_ascii_lowercase()) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

#[test]
fn compose_services_are_complete_and_ordered() {
    let compose = compose();
    for name in ["postgres", "qdrant", "regula", "regula-gpu", "lb"] {
        let s = service(&compose, name);
        assert!(s.is_mapping(), "service {name}");
        assert!(
            s["healthcheck"]["test"].is_sequence(),
            "{name} has a health check"
        );
    }
    for name in ["regula", "regula-gpu"] {
        for dep in ["postgres", "qdrant"] {
            assert_eq!(
                service(&compose, name)["depends_on"][dep]["condition"].as_str(),
                Some("service_healthy"),
                "{name} waits for {dep}"
            );
        }
    }
    assert_eq!(
        service(&compose, "regula")["profiles"][0].as_str(),
        Some("cpu")
    );
    let gpu = service(&compose, "regula-gpu");
    assert_eq!(gpu["profiles"][0].as_str(), Some("gpu"));
    assert_eq!(gpu["build"]["args"]["FEATURES"].as_str(), Some("cuda"));
    let device = &gpu["deploy"]["resources"]["reservations"]["devices"][0];
    assert_eq!(device["driver"].as_str(), Some("nvidia"));
    assert_eq!(device["capabilities"][0].as_str(), Some("gpu"));
    for volume in ["pgdata", "qdrant", "originals"] {
        assert!(
            compose["volumes"].get(volume).is_some(),
            "named volume {volume}"
        );
    }
    let template = std::fs::read_to_string(root().join("deploy/nginx.conf.template"))
        .expect("load balancer config");
    assert!(template.contains("${REGULA_UPSTREAM}") && template.contains("proxy_buffering off"));
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("--features $FEATURES") && dockerfile.contains("AS runtime"));
}

#[test]
fn compose_variables_and_settings_are_real() {
    let compose = compose();
    let env = env_example();
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialise");
    let mut used = BTreeMap::new();
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).expect("compose");
    interpolate(&text, &env, &mut used);

    // Whatever compose needs without a default is in .env.example; nothing there is stale.
    for (var, has_default) in &used {
        assert!(
            *has_default || env.contains_key(var),
            "${{{var}}} is required by docker-compose.yml but missing from .env.example"
        );
    }
    let known: BTreeSet<&str> = used.keys().map(String::as_str).collect();
    for var in env.keys() {
        assert!(
            known.contains(var.as_str()) || var == "COMPOSE_PROFILES",
            "{var} in .env.example is not used by docker-compose.yml"
        );
    }

    // Every Regula setting passed is a real key, and Regula accepts the values it gets.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    for var in dockerfile
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("REGULA__"))
    {
        assert!(
            is_setting(var, &defaults),
            "Dockerfile sets {var}, not a setting"
        );
    }
    for name in ["regula", "regula-gpu"] {
        let vars = environment(&compose, name, &env, &mut used);
        for var in vars.keys() {
            assert!(
                is_setting(var, &defaults),
                "{name} sets {var}, which is not a Regula setting"
            );
        }
        let settings = load_with(&vars);
        assert_eq!(
            settings.database.url.as_deref(),
            Some("postgres://regula:change-me-postgres@postgres:5432/regula"),
            "{name}"
        );
        assert_eq!(
            settings.index.qdrant_url.as_deref(),
            Some("http://qdrant:6334")
        );
        assert_eq!(
            settings.index.qdrant_api_key.as_deref(),
            Some("change-me-qdrant")
        );
        assert_eq!(
            settings.originals_dir(),
            Path::new("/var/lib/regula-shared/originals")
        );
        assert!(settings.auth.trusted_proxies.is_empty());
        if name == "regula-gpu" {
            assert_eq!(settings.llm.n_gpu_layers, 999);
            assert!(settings.llm.flash_attention && settings.llm.korean_capable);
            assert_eq!(
                settings.llm_path(),
                Path::new("/models/qwen2.5-32b-instruct-q4_k_m.gguf")
            );
        }
    }
}

/// The settings a container with these variables would load.
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn load_with(vars: &BTreeMap<String, String>) -> Settings {
    let mut loaded = None;
    figment::Jail::expect_with(|jail| {
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        loaded = Some(Settings::load(None).map_err(|e| e.to_string())?);
        Ok(())
    });
    loaded.expect("settings")
}

#[test]
fn docker_compose_accepts_the_file_when_installed() {
    let has_docker = std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_docker {
        eprintln!("docker compose is not installed here; the checks above stand in for it");
        return;
    }
    let out = std::process::Command::new("docker")
        .args(["compose", "--env-file", ".env.example", "config", "--quiet"])
        .current_dir(root())
        .output()
        .expect("docker compose config");
    assert!(
        out.status.success(),
        "docker compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
