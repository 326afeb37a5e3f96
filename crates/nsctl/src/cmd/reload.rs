//! `nsctl reload`: the declared namespaces' files, read again; `nsctl
//! dispatcher`: the dispatcher scripts, and which run.

use zbus::Connection;

use crate::cmd::{call_authorized, controller};
use crate::error::{CliError, Kind};

pub async fn exec(conn: &Connection, json: bool) -> Result<String, CliError> {
    let ctl = controller(conn).await?;
    let (created, removed, errors): (Vec<String>, Vec<String>, Vec<String>) =
        call_authorized(ctl.inner(), "ReloadNamespaces", &()).await?;
    let out = render(&created, &removed, &errors, json);
    if errors.is_empty() {
        return Ok(out);
    }
    // What was done goes to stdout all the same; the problems to stderr.
    print!("{out}");
    Err(CliError::new(Kind::Failed, problems(&errors)))
}

pub async fn dispatcher(conn: &Connection, json: bool) -> Result<String, CliError> {
    let ctl = controller(conn).await?;
    let scripts: Vec<(String, bool, String)> = ctl
        .inner()
        .call("GetDispatcherScripts", &())
        .await
        .map_err(CliError::from)?;
    Ok(render_scripts(&scripts, json))
}

fn render_scripts(scripts: &[(String, bool, String)], json: bool) -> String {
    if json {
        let v: Vec<_> = scripts
            .iter()
            .map(|(s, runs, why)| serde_json::json!({"script": s, "runs": runs, "why": why}))
            .collect();
        return format!("{}\n", serde_json::Value::from(v));
    }
    scripts
        .iter()
        .map(|(s, runs, why)| {
            let s = crate::output::terminal_safe(s);
            if *runs {
                format!("{s} yes\n")
            } else {
                format!("{s} no: {}\n", crate::output::terminal_safe(why))
            }
        })
        .collect()
}

fn render(created: &[String], removed: &[String], errors: &[String], json: bool) -> String {
    if json {
        return format!(
            "{}\n",
            serde_json::json!({"created": created, "removed": removed, "errors": errors})
        );
    }
    let mut out = String::new();
    for n in created {
        out.push_str(&format!("created {n}\n"));
    }
    for n in removed {
        out.push_str(&format!("removed {n}\n"));
    }
    out
}

fn problems(errors: &[String]) -> String {
    let mut m = format!("{} problem(s) with the declared namespaces:", errors.len());
    for e in errors {
        m.push_str("\n  ");
        m.push_str(e);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatcher_scripts_say_whether_they_run() {
        let s = vec![
            ("/d/10-log".to_string(), true, String::new()),
            (
                "/d/20-x".to_string(),
                false,
                "owned by uid 1000, not root".to_string(),
            ),
        ];
        assert_eq!(
            render_scripts(&s, false),
            "/d/10-log yes\n/d/20-x no: owned by uid 1000, not root\n"
        );
        let v: serde_json::Value = serde_json::from_str(&render_scripts(&s, true)).unwrap();
        assert_eq!(v[1]["runs"], false);
        assert_eq!(v[0]["script"], "/d/10-log");
    }

    #[test]
    fn output() {
        let c = vec!["a".to_string()];
        let r = vec!["b".to_string()];
        assert_eq!(render(&c, &r, &[], false), "created a\nremoved b\n");
        assert_eq!(
            render(&c, &[], &["x.conf: bad".into()], true),
            "{\"created\":[\"a\"],\"errors\":[\"x.conf: bad\"],\"removed\":[]}\n"
        );
        assert_eq!(
            problems(&["f: k".into()]),
            "1 problem(s) with the declared namespaces:\n  f: k"
        );
    }
}
