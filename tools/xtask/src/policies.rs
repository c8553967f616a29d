//! After the test suite: every AWS request each function made, anywhere in the suite, is one its policy in
//! `template.yaml` allows (docs/local-stack.md, "Each function's requests"). The local gateway runs each function
//! with SDK clients that sign as the function's logical id; the emulator's meter says which IAM permissions their
//! requests needed (an action; for DynamoDB the table, an index or the stream; for Secrets Manager the secret). On
//! AWS a request a policy does not allow fails with `AccessDenied`; locally it would work, so this is where it is
//! caught.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use serde_yaml::{Mapping, Value as Yaml};

use crate::tools::root;

/// One statement: actions (`dynamodb:GetItem`, `sqs:*`) on resources, each `*`, `table`, `index/<name>` (or
/// `index/*`) or `stream` for DynamoDB, `secret:<name>` (or `secret:<prefix>*`) for Secrets Manager, and `other` for
/// any other resource (not told apart).
type Statement = (Vec<String>, Vec<String>);

/// What a function's policies allow: its `Allow` statements, less its `Deny` statements (a `Deny` wins, as in IAM).
/// Conditions are not evaluated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Allowed {
    allow: Vec<Statement>,
    deny: Vec<Statement>,
}

impl Allowed {
    /// Whether `action` on `resource` (as the emulator names it: `table/<name>`, `table/<name>/index/<index>`,
    /// `stream`, `secret:<name>` or `*`) is allowed. DynamoDB's and Secrets Manager's resources are checked; other
    /// services' requests by their action alone.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let wanted = match action.split_once(':') {
            Some(("dynamodb", _)) => Some(dynamodb_resource(resource)),
            Some(("secretsmanager", _)) => Some(resource.to_owned()),
            _ => None,
        };
        let covers = |(actions, resources): &Statement| {
            actions.iter().any(|allowed| matches(allowed, action))
                && wanted.as_deref().is_none_or(|wanted| resources.iter().any(|allowed| matches(allowed, wanted)))
        };
        self.allow.iter().any(covers) && !self.deny.iter().any(covers)
    }
}

/// An action or a resource of a statement (`*`, exact, or a prefix ending in `*`) against one a request needs.
fn matches(allowed: &str, wanted: &str) -> bool {
    allowed == "*" || allowed == wanted || allowed.strip_suffix('*').is_some_and(|prefix| wanted.starts_with(prefix))
}

/// The emulator's DynamoDB resource as a policy names it: `table`, `index/<name>`, `stream` or `*`.
fn dynamodb_resource(resource: &str) -> String {
    match resource.split_once("/index/") {
        Some((_, index)) => format!("index/{index}"),
        None if resource.starts_with("table/") => "table".to_owned(),
        None => resource.to_owned(),
    }
}

/// Each function's policies in `template`: logical id → what its `Allow` statements allow.
pub fn allowed_by_template(template: &str) -> Result<BTreeMap<String, Allowed>, String> {
    let template: Yaml = serde_yaml::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
    let resources = template["Resources"].as_mapping().ok_or("template.yaml has no Resources")?;
    let mut functions = BTreeMap::new();
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(id) = id.as_str() else { continue };
        let policies = resource["Properties"]["Policies"].as_sequence().cloned().unwrap_or_default();
        let statements = policies.iter().filter_map(|policy| policy["Statement"].as_sequence()).flatten();
        let mut allowed = Allowed::default();
        for statement in statements {
            let parsed = (strings(&statement["Action"]), resource_names(&statement["Resource"], resources));
            match statement["Effect"].as_str() {
                Some("Allow") => allowed.allow.push(parsed),
                Some("Deny") => allowed.deny.push(parsed),
                _ => {}
            }
        }
        functions.insert(id.to_owned(), allowed);
    }
    Ok(functions)
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Sequence(items) => items.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect(),
        other => other.as_str().map(str::to_owned).into_iter().collect(),
    }
}

/// A statement's resources as [`Allowed`] names them: `!GetAtt OtpTable.Arn` is `table`, `!GetAtt
/// OtpTable.StreamArn` `stream`, `!Sub "${OtpTable.Arn}/index/<name>"` `index/<name>`, `!Ref <a secret>`
/// `secret:<its Name>`, a `!Sub` secret ARN `secret:<what follows :secret:>`, `"*"` `*`, anything else `other`.
fn resource_names(value: &Yaml, resources: &Mapping) -> Vec<String> {
    let one = |value: &Yaml| -> String {
        let Yaml::Tagged(tagged) = value else {
            return if value.as_str() == Some("*") { "*".to_owned() } else { "other".to_owned() };
        };
        let text = tagged.value.as_str().unwrap_or_default();
        match tagged.tag.to_string().as_str() {
            "!GetAtt" if text == "OtpTable.Arn" => "table".to_owned(),
            "!GetAtt" if text == "OtpTable.StreamArn" => "stream".to_owned(),
            "!Ref" => match resources.get(text) {
                Some(secret) if secret["Type"].as_str() == Some("AWS::SecretsManager::Secret") => {
                    format!("secret:{}", secret["Properties"]["Name"].as_str().unwrap_or("?"))
                }
                _ => "other".to_owned(),
            },
            "!Sub" => match (text.strip_prefix("${OtpTable.Arn}/"), text.split_once(":secret:")) {
                (Some(index), _) if index.starts_with("index/") => index.to_owned(),
                (None, Some((_, secret))) => format!("secret:{secret}"),
                _ => "other".to_owned(),
            },
            _ => "other".to_owned(),
        }
    };
    match value {
        Yaml::Sequence(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// The permissions the emulator's meter recorded for `app`: (action, resource) → requests.
async fn recorded(http: &reqwest::Client, aws_url: &str, app: &str) -> Result<BTreeMap<(String, String), u64>, String> {
    let url = format!("{aws_url}/_local/requests?app={app}");
    let reply: Value = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(reply["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            let action = row["action"].as_str().unwrap_or("?").to_owned();
            let resource = row["resource"].as_str().unwrap_or("?").to_owned();
            ((action, resource), row["count"].as_u64().unwrap_or(0))
        })
        .collect())
}

/// Checks every function's recorded requests against its policy, on the stack of `stack_file`; prints what each
/// function needed.
pub async fn check(stack_file: &Path) -> Result<(), String> {
    let stack: Value = serde_json::from_str(
        &std::fs::read_to_string(stack_file).map_err(|e| format!("{}: {e}", stack_file.display()))?,
    )
    .map_err(|e| format!("{}: {e}", stack_file.display()))?;
    let aws_url = stack["awsEndpointUrl"].as_str().ok_or("the stack file has no awsEndpointUrl")?;
    let template = std::fs::read_to_string(root().join("template.yaml")).map_err(|e| format!("template.yaml: {e}"))?;
    let http = reqwest::Client::new();
    let mut refused = Vec::new();
    eprintln!("xtask: the AWS requests each function made in the suite, against its policy in template.yaml:");
    for (function, allowed) in allowed_by_template(&template)? {
        let needed = recorded(&http, aws_url, &function).await?;
        let requests: u64 = needed.values().sum();
        eprintln!("  {function}: {requests} requests, {} permissions", needed.len());
        refused.extend(refusals(&function, &allowed, &needed));
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "requests template.yaml's policies do not allow (they would fail on AWS):\n  {}",
            refused.join("\n  ")
        ))
    }
}

/// What is wrong with what `function` needed, given what its policies allow.
fn refusals(function: &str, allowed: &Allowed, needed: &BTreeMap<(String, String), u64>) -> Vec<String> {
    if needed.is_empty() {
        // Every function serves some test: none recorded means its requests no longer reach the meter under its
        // name, and there would be nothing to check.
        return vec![format!("{function} made no request the emulator saw under its name: nothing was checked")];
    }
    needed
        .keys()
        .filter(|(action, resource)| !allowed.allows(action, resource))
        .map(|(action, resource)| format!("{function} needs {action} on {resource}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  OtpTable:
    Type: AWS::DynamoDB::Table
  AppSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: lightotp/app-secret
  WebhookFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action:
                - dynamodb:Query
                - dynamodb:UpdateItem
              Resource:
                - !GetAtt OtpTable.Arn
                - !Sub "${OtpTable.Arn}/index/wamid-index"
            - Effect: Allow
              Action: dynamodb:GetRecords
              Resource: !GetAtt OtpTable.StreamArn
            - Effect: Allow
              Action: sns:Publish
              Resource: "*"
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource:
                - !Ref AppSecret
                - !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:lightotp/api-keys/*"
            - Effect: Deny
              Action: dynamodb:DeleteItem
              Resource: "*"
"#;

    #[test]
    fn a_function_may_make_only_the_requests_its_statements_allow_on_their_resources() {
        let functions = allowed_by_template(TEMPLATE).expect("parses");
        assert_eq!(functions.keys().collect::<Vec<_>>(), ["WebhookFunction"], "only functions");
        let allowed = &functions["WebhookFunction"];
        assert!(allowed.allows("dynamodb:UpdateItem", "table/lightotp"));
        assert!(allowed.allows("dynamodb:Query", "table/lightotp/index/wamid-index"));
        assert!(!allowed.allows("dynamodb:Query", "table/lightotp/index/pending-index"), "another index");
        assert!(!allowed.allows("dynamodb:PutItem", "table/lightotp"), "an action not listed");
        assert!(!allowed.allows("dynamodb:DeleteItem", "table/lightotp"), "a Deny allows nothing");
        assert!(allowed.allows("dynamodb:GetRecords", "stream"));
        assert!(!allowed.allows("dynamodb:GetRecords", "table/lightotp"), "the stream's action on the table");
        assert!(allowed.allows("sns:Publish", "*"));
        assert!(!allowed.allows("ses:SendEmail", "*"));
        assert!(allowed.allows("secretsmanager:GetSecretValue", "secret:lightotp/app-secret"));
        assert!(allowed.allows("secretsmanager:GetSecretValue", "secret:lightotp/api-keys/k1"));
        assert!(!allowed.allows("secretsmanager:GetSecretValue", "secret:lightotp/pepper"), "another secret");
        assert!(!allowed.allows("secretsmanager:PutSecretValue", "secret:lightotp/app-secret"));
    }

    #[test]
    fn wildcards_in_actions_and_indexes_match_and_a_deny_wins() {
        let statement = |action: &str, resource: &str| (vec![action.to_owned()], vec![resource.to_owned()]);
        let allowed = Allowed {
            allow: vec![
                statement("sqs:*", "other"),
                statement("dynamodb:Query", "index/*"),
                statement("dynamodb:*", "table"),
            ],
            deny: vec![statement("dynamodb:Delete*", "*")],
        };
        assert!(allowed.allows("sqs:ReceiveMessage", "*"));
        assert!(allowed.allows("dynamodb:Query", "table/lightotp/index/pending-index"));
        assert!(!allowed.allows("dynamodb:Scan", "table/lightotp/index/pending-index"));
        assert!(allowed.allows("dynamodb:PutItem", "table/lightotp"));
        assert!(!allowed.allows("dynamodb:DeleteItem", "table/lightotp"), "a Deny wins over an Allow");
    }

    #[test]
    fn a_function_with_no_recorded_request_or_one_not_allowed_fails_the_check() {
        let functions = allowed_by_template(TEMPLATE).expect("parses");
        let allowed = &functions["WebhookFunction"];
        let needed = |pairs: &[(&str, &str)]| -> BTreeMap<(String, String), u64> {
            pairs.iter().map(|(a, r)| (((*a).to_owned(), (*r).to_owned()), 1)).collect()
        };
        assert_eq!(
            refusals("WebhookFunction", allowed, &needed(&[("dynamodb:UpdateItem", "table/lightotp")])),
            Vec::<String>::new()
        );
        assert_eq!(
            refusals(
                "WebhookFunction",
                allowed,
                &needed(&[("dynamodb:UpdateItem", "table/lightotp"), ("dynamodb:PutItem", "table/lightotp")])
            ),
            ["WebhookFunction needs dynamodb:PutItem on table/lightotp"]
        );
        assert_eq!(refusals("WebhookFunction", allowed, &needed(&[])).len(), 1, "nothing recorded: nothing checked");
    }

    #[test]
    fn the_projects_template_gives_every_function_a_policy() {
        let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
        let functions = allowed_by_template(&template).expect("parses");
        assert_eq!(functions.len(), 8, "{:?}", functions.keys());
        assert!(functions["SendMessageFunction"].allows("dynamodb:BatchGetItem", "table/lightotp"));
        assert!(!functions["SendMessageFunction"].allows("dynamodb:Query", "table/lightotp/index/pending-index"));
        assert!(functions["WhatsAppWebhookFunction"].allows("dynamodb:Query", "table/lightotp/index/wamid-index"));
        assert!(functions["DeliverWebhooksFunction"].allows("dynamodb:GetRecords", "stream"));
        let check = &functions["CheckMessageStatusFunction"];
        assert!(check.allows("secretsmanager:GetSecretValue", "secret:lightotp/pepper"));
        assert!(!check.allows("secretsmanager:GetSecretValue", "secret:lightotp/whatsapp-token"), "read-only route");
    }
}
