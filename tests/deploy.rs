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
    // The runtime loads MeCab for Korean questions (models.korean_dictionary is on by default).
    let runtime = &dockerfile[dockerfile.find("AS runtime").expect("runtime stage")..];
    assert!(
        runtime.contains("libmecab2"),
        "the runtime image installs libmecab2"
    );
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

/// The load balancer's config, filled in as the nginx image does: only variables that are set.
fn render_template(vars: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("deploy/nginx.conf.template"))
        .expect("load balancer config");
    for (k, v) in vars {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    text
}

/// An upstream that answers every request with the request's own head (what Regula would see).
fn echo_upstream() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                head.len()
            );
            let _ = stream.write_all(reply.as_bytes());
            let _ = stream.write_all(&head);
        }
    });
    port
}

/// The shipped load balancer config in a real nginx (Debian's, installed by scripts/setup.sh):
/// a client's X-Remote-User / X-Remote-Groups never reach Regula, repeated or not; the SSO
/// proxy's do.
#[tokio::test]
async fn the_load_balancer_passes_sso_headers_only_from_the_sso_proxy() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is installed (scripts/setup.sh installs Debian's nginx-light)");
    let upstream = echo_upstream();
    let lb_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = render_template(&[
        ("REGULA_UPSTREAM", "127.0.0.1"),
        ("REGULA_BACKEND_PORT", &upstream.to_string()),
        ("LB_LISTEN_PORT", &format!("127.0.0.1:{lb_port}")),
        ("SSO_PROXY_ADDR", "127.0.0.2/32"),
    ]);
    assert!(
        !server.contains("${"),
        "every variable filled in:\n{server}"
    );
    let d = dir.path().display();
    std::fs::write(dir.path().join("default.conf"), server).unwrap();
    let main = format!(
        "master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; {user}\n\
         events {{}}\n\
         http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; \
         fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi; \
         include {d}/default.conf; }}\n",
        user = if is_root() { "user root root;" } else { "" }
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let child = std::process::Command::new(nginx)
        .args([
            "-p",
            &d.to_string(),
            "-c",
            &format!("{d}/nginx.conf"),
            "-g",
            "daemon off;",
        ])
        .spawn()
        .expect("nginx starts");
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _stop = Stop(child);
    let url = format!("http://127.0.0.1:{lb_port}/api/v1/auth/me");
    let from = |addr: &str| {
        reqwest::Client::builder()
            .local_address(addr.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let mut ready = false;
    for _ in 0..100 {
        if from("127.0.0.1")
            .get(format!("http://127.0.0.1:{lb_port}/lb-health"))
            .send()
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "nginx answers: {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );

    let seen = |client: reqwest::Client, repeat: bool| {
        let url = url.clone();
        async move {
            let mut req = client
                .get(url)
                .header("X-Remote-User", "mallory")
                .header("X-Remote-Groups", "regula-admins");
            if repeat {
                req = req
                    .header("X-Remote-User", "admin")
                    .header("x-remote-groups", "hr");
            }
            let r = req.send().await.expect("through the load balancer");
            assert_eq!(r.status(), 200);
            r.text().await.unwrap().to_lowercase()
        }
    };
    // Any other client: not one copy gets through.
    for repeat in [false, true] {
        let head = seen(from("127.0.0.1"), repeat).await;
        assert!(
            !head.contains("x-remote-user") && !head.contains("x-remote-groups"),
            "a client's SSO headers reached Regula:\n{head}"
        );
        assert!(head.contains("x-forwarded-for: 127.0.0.1"), "{head}");
    }
    // The SSO proxy's address: its headers pass.
    let head = seen(from("127.0.0.2"), false).await;
    assert!(head.contains("x-remote-user: mallory"), "{head}");
    assert!(head.contains("x-remote-groups: regula-admins"), "{head}");
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}
