//! `nsctl rule add|del …`, `nsctl rule list`

use zbus::Connection;

use crate::cli::{RuleArgs, RuleCommand};
use crate::cmd::{call_authorized, netns};
use crate::error::CliError;
use crate::output;
use crate::routing::{Rule, family_order, rule_dict};

pub async fn exec(conn: &Connection, command: RuleCommand, json: bool) -> Result<String, CliError> {
    match command {
        RuleCommand::Add(args) => change(conn, "AddRule", args, None).await,
        RuleCommand::Del(d) => change(conn, "RemoveRule", d.rule, d.proto).await,
        RuleCommand::List { family, netns: ns } => {
            let ns = netns(conn, &ns.netns).await?;
            let mut rules = ns
                .platform
                .get_rules()
                .await?
                .into_iter()
                .map(Rule::from_dict)
                .collect::<Result<Vec<_>, _>>()?;
            rules.retain(|r| family.shows(&r.family));
            rules.sort_by_key(|r| (family_order(&r.family), r.priority));
            Ok(if json {
                output::rules_json(&rules)
            } else {
                output::rules_text(&rules)
            })
        }
    }
}

async fn change(
    conn: &Connection,
    method: &'static str,
    args: RuleArgs,
    proto: Option<String>,
) -> Result<String, CliError> {
    let ns = netns(conn, &args.netns.netns).await?;
    let mut rule = rule_dict(&args);
    if let Some(p) = proto {
        rule.insert("protocol", zbus::wire::Variant::from(p));
    }
    call_authorized::<_, ()>(ns.platform.inner(), method, &(rule,)).await?;
    Ok(String::new())
}
