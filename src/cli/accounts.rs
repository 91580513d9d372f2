//! `regula user …` and `regula key …` (they work while a server runs).

use super::*;

/// The metadata store alone: account commands work while a server holds the data dir.
pub(super) async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    Ok(Store::open(&settings.database_url()).await?)
}

pub(super) async fn users(
    settings: &Settings,
    command: &UserCommand,
    json_out: bool,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        UserCommand::Add {
            username,
            role,
            groups,
        } => {
            let password = match std::env::var("REGULA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let hash = password::hash_off_runtime(password).await?;
            let groups = normalise_groups(groups.clone());
            let user = store
                .create_user(NewUser {
                    username,
                    password_hash: Some(&hash),
                    role: *role,
                    groups: &groups,
                })
                .await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&user)?);
            } else {
                println!(
                    "created {} ({}) with id {}",
                    user.username,
                    role.as_str(),
                    user.id
                );
            }
        }
        UserCommand::Bootstrap => {
            if store.admin_count().await? > 0 {
                println!("an admin account exists; nothing to do");
                return Ok(());
            }
            let password = tokens::random_token()?.chars().take(20).collect::<String>();
            let hash = password::hash_off_runtime(password.clone()).await?;
            store
                .create_user(NewUser {
                    username: "admin",
                    password_hash: Some(&hash),
                    role: Role::Admin,
                    groups: &[],
                })
                .await?;
            println!("created the admin account: user `admin`, password `{password}` (shown once; change it in the admin page)");
        }
        UserCommand::List => {
            let users = store.users().await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    println!(
                        "{}  {:<20} {:<8} groups: {}{}",
                        u.id,
                        u.username,
                        u.role.as_str(),
                        u.groups.join(","),
                        if u.disabled { "  (disabled)" } else { "" }
                    );
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn keys(
    settings: &Settings,
    command: &KeyCommand,
    json_out: bool,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        KeyCommand::Create {
            name,
            scope,
            groups,
        } => {
            let secret = tokens::new_api_key()?;
            let groups = normalise_groups(groups.clone());
            let key = store
                .create_api_key(NewApiKey {
                    name,
                    prefix: &tokens::display_prefix(&secret),
                    secret_hash: &tokens::hash(&secret),
                    scope: *scope,
                    groups: &groups,
                    created_by: "cli",
                })
                .await?;
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"key": key, "secret": secret}))?
                );
            } else {
                println!("{secret}");
                eprintln!(
                    "API key {} ({}, id {}): the secret above is shown once",
                    key.name,
                    scope.as_str(),
                    key.id
                );
            }
        }
        KeyCommand::List => {
            let keys = store.api_keys().await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in keys {
                    println!(
                        "{}  {:<20} {:<5} {}…  last used {}{}",
                        k.id,
                        k.name,
                        k.scope.as_str(),
                        k.prefix,
                        k.last_used_at.as_deref().unwrap_or("never"),
                        if k.revoked_at.is_some() {
                            "  (revoked)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        KeyCommand::Revoke { id } => {
            store.revoke_api_key(id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
