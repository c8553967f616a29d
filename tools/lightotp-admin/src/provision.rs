//! Creates the tables and secrets `template.yaml` declares, from `template.yaml` itself, so that the local stack
//! can never drift from the deployment. Used against the emulator; on AWS, CloudFormation does this.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// The deployment description, compiled in.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// A DynamoDB table as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// `TableName`.
    pub name: String,
    /// `(attribute, S|N|B)`.
    pub attributes: Vec<(String, String)>,
    /// `(attribute, HASH|RANGE)`.
    pub key_schema: Vec<(String, String)>,
    /// Global secondary indexes.
    pub indexes: Vec<IndexSpec>,
    /// `TimeToLiveSpecification.AttributeName`, when enabled.
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub stream_view: Option<String>,
}

/// An SQS queue as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// The logical id in the template.
    pub logical_id: String,
    /// `QueueName`.
    pub name: String,
    /// `VisibilityTimeout`, in seconds, if set.
    pub visibility_timeout: Option<u64>,
    /// The logical id of its dead-letter queue and `maxReceiveCount`, if it has one.
    pub dead_letter: Option<(String, u64)>,
}

/// A global secondary index: `(name, key schema, projection type)`.
pub type IndexSpec = (String, Vec<(String, String)>, String);

/// A secret as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    /// The logical id in the template (`PepperSecret`).
    pub logical_id: String,
    /// `Name`.
    pub name: String,
}

/// What the template declares that the emulator must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// Tables.
    pub tables: Vec<TableSpec>,
    /// Secrets.
    pub secrets: Vec<SecretSpec>,
    /// SES email identities (addresses or domains), with `!Ref`s to parameters resolved to their defaults.
    pub email_identities: Vec<String>,
    /// SQS queues, dead-letter queues before the queues that use them.
    pub queues: Vec<QueueSpec>,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The template could not be read as the shape we rely on.
    #[error("template.yaml: {0}")]
    Template(String),
    /// An AWS call failed.
    #[error("{0}")]
    Aws(String),
}

fn text(value: &Value, field: &str) -> Result<String, ProvisionError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ProvisionError::Template(format!("{field} must be a literal string")))
}

fn pairs(value: Option<&Value>, a: &str, b: &str) -> Result<Vec<(String, String)>, ProvisionError> {
    value
        .and_then(Value::as_sequence)
        .ok_or_else(|| ProvisionError::Template(format!("expected a list of {a}/{b}")))?
        .iter()
        .map(|entry| Ok((text(entry, a)?, text(entry, b)?)))
        .collect()
}

/// Reads the tables and secrets out of a template.
pub fn resources(template: &str) -> Result<Resources, ProvisionError> {
    let doc: Value = serde_yaml::from_str(template).map_err(|e| ProvisionError::Template(e.to_string()))?;
    let declared = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| ProvisionError::Template("no Resources".to_owned()))?;
    let parameters = doc.get("Parameters").cloned().unwrap_or(Value::Null);
    let mut out =
        Resources { tables: Vec::new(), secrets: Vec::new(), email_identities: Vec::new(), queues: Vec::new() };
    for (logical_id, resource) in declared {
        let logical_id = logical_id.as_str().unwrap_or_default().to_owned();
        let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
        match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::DynamoDB::Table") => {
                let indexes = match props.get("GlobalSecondaryIndexes").and_then(Value::as_sequence) {
                    None => Vec::new(),
                    Some(list) => list
                        .iter()
                        .map(|gsi| {
                            let projection = gsi.get("Projection").cloned().unwrap_or(Value::Null);
                            Ok((
                                text(gsi, "IndexName")?,
                                pairs(gsi.get("KeySchema"), "AttributeName", "KeyType")?,
                                text(&projection, "ProjectionType")?,
                            ))
                        })
                        .collect::<Result<_, ProvisionError>>()?,
                };
                let ttl = props
                    .get("TimeToLiveSpecification")
                    .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
                    .map(|t| text(t, "AttributeName"))
                    .transpose()?;
                out.tables.push(TableSpec {
                    name: text(&props, "TableName")?,
                    attributes: pairs(props.get("AttributeDefinitions"), "AttributeName", "AttributeType")?,
                    key_schema: pairs(props.get("KeySchema"), "AttributeName", "KeyType")?,
                    indexes,
                    ttl_attribute: ttl,
                    stream_view: props
                        .get("StreamSpecification")
                        .map(|spec| text(spec, "StreamViewType"))
                        .transpose()?,
                });
            }
            Some("AWS::SQS::Queue") => {
                let dead_letter = match props.get("RedrivePolicy") {
                    None => None,
                    Some(policy) => {
                        // `!GetAtt <LogicalId>.Arn`: the queue it names.
                        let target = match policy.get("deadLetterTargetArn") {
                            Some(Value::Tagged(tagged)) => tagged.value.as_str(),
                            _ => None,
                        }
                        .map(|s| s.split('.').next().unwrap_or(s).to_owned())
                        .ok_or_else(|| ProvisionError::Template(format!("{logical_id}: deadLetterTargetArn")))?;
                        let count = policy
                            .get("maxReceiveCount")
                            .and_then(Value::as_u64)
                            .ok_or_else(|| ProvisionError::Template(format!("{logical_id}: maxReceiveCount")))?;
                        Some((target, count))
                    }
                };
                out.queues.push(QueueSpec {
                    logical_id: logical_id.clone(),
                    name: text(&props, "QueueName")?,
                    visibility_timeout: props.get("VisibilityTimeout").and_then(Value::as_u64),
                    dead_letter,
                });
            }
            Some("AWS::SecretsManager::Secret") => {
                out.secrets.push(SecretSpec { logical_id, name: text(&props, "Name")? });
            }
            Some("AWS::SES::EmailIdentity") => {
                let identity = props.get("EmailIdentity").cloned().unwrap_or(Value::Null);
                out.email_identities.push(resolve_default(&identity, &parameters)?);
            }
            _ => {}
        }
    }
    // A dead-letter queue must exist before the queue that names it.
    out.queues.sort_by_key(|q| q.dead_letter.is_some());
    Ok(out)
}

/// A literal string, or `!Ref` to a parameter, read as the parameter's default.
fn resolve_default(value: &Value, parameters: &Value) -> Result<String, ProvisionError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap_or_default();
            parameters
                .get(name)
                .and_then(|p| p.get("Default"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ProvisionError::Template(format!("parameter {name} has no string default")))
        }
        _ => Err(ProvisionError::Template("expected a string or a !Ref to a parameter".to_owned())),
    }
}

/// Creates (and, in the emulator, at once verifies) every SES identity.
pub async fn create_email_identities(
    client: &aws_sdk_sesv2::Client,
    identities: &[String],
) -> Result<(), ProvisionError> {
    for identity in identities {
        match client.create_email_identity().email_identity(identity).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => {}
            Err(e) => return Err(ProvisionError::Aws(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())),
        }
    }
    Ok(())
}

fn key_schema(pairs: &[(String, String)]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    pairs
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(|e| ProvisionError::Aws(e.to_string()))
        })
        .collect()
}

/// Creates every table (with its indexes and TTL) that does not exist yet.
pub async fn create_tables(client: &aws_sdk_dynamodb::Client, tables: &[TableSpec]) -> Result<(), ProvisionError> {
    for table in tables {
        let mut create = client
            .create_table()
            .table_name(&table.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(&table.key_schema)?));
        for (name, kind) in &table.attributes {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .map_err(|e| ProvisionError::Aws(e.to_string()))?,
            );
        }
        for (name, keys, projection) in &table.indexes {
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key_schema(keys)?))
                    .projection(
                        Projection::builder().projection_type(ProjectionType::from(projection.as_str())).build(),
                    )
                    .build()
                    .map_err(|e| ProvisionError::Aws(e.to_string()))?,
            );
        }
        if let Some(view) = &table.stream_view {
            create = create.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()
                    .map_err(|e| ProvisionError::Aws(e.to_string()))?,
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
                continue;
            }
            Err(e) => {
                return Err(ProvisionError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()));
            }
        }
        if let Some(attribute) = &table.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(&table.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(|e| ProvisionError::Aws(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| ProvisionError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        }
    }
    Ok(())
}

/// Creates the queues (each dead-letter queue first, then the queue redriving to it); an existing queue is kept.
/// Returns each queue's URL by logical id.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    queues: &[QueueSpec],
) -> Result<HashMap<String, String>, ProvisionError> {
    let mut urls = HashMap::new();
    let mut arns: HashMap<String, String> = HashMap::new();
    for queue in queues {
        let mut create = client.create_queue().queue_name(&queue.name);
        if let Some(seconds) = queue.visibility_timeout {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, seconds.to_string());
        }
        if let Some((target, count)) = &queue.dead_letter {
            let arn = arns.get(target).ok_or_else(|| {
                ProvisionError::Template(format!("{}: unknown dead-letter queue {target}", queue.name))
            })?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": count.to_string()});
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let out = create
            .send()
            .await
            .map_err(|e| ProvisionError::Aws(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        let url =
            out.queue_url().ok_or_else(|| ProvisionError::Aws(format!("{}: no queue URL", queue.name)))?.to_owned();
        let attributes = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| ProvisionError::Aws(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        if let Some(arn) =
            attributes.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        {
            arns.insert(queue.logical_id.clone(), arn.clone());
        }
        urls.insert(queue.logical_id.clone(), url);
    }
    Ok(urls)
}

/// Creates every secret that does not exist yet, with the value given for its name or else a random one (as
/// `GenerateSecretString` would).
pub async fn create_secrets(
    client: &aws_sdk_secretsmanager::Client,
    secrets: &[SecretSpec],
    values: &HashMap<String, String>,
) -> Result<(), ProvisionError> {
    for secret in secrets {
        let value = match values.get(&secret.name) {
            Some(value) => value.clone(),
            None => crate::ops::random_hex(32).map_err(|e| ProvisionError::Aws(e.to_string()))?,
        };
        match client.create_secret().name(&secret.name).secret_string(value).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {}
            Err(e) => {
                return Err(ProvisionError::Aws(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightotp::store::schema;

    /// The code's names and the deployment's must agree: a rename on one side fails here.
    #[test]
    fn the_template_declares_the_table_and_secrets_the_code_uses() {
        let declared = resources(TEMPLATE).expect("template.yaml parses");
        assert_eq!(declared.tables.len(), 1, "one table");
        let table = &declared.tables[0];
        assert_eq!(table.name, crate::ops::DEFAULT_TABLE);
        assert_eq!(
            table.key_schema,
            vec![(schema::PK.to_owned(), "HASH".to_owned()), (schema::SK.to_owned(), "RANGE".to_owned())]
        );
        assert_eq!(
            table.indexes,
            vec![
                (
                    schema::WAMID_INDEX.to_owned(),
                    vec![(schema::attr::WAMID.to_owned(), "HASH".to_owned())],
                    "KEYS_ONLY".to_owned()
                ),
                (
                    schema::PENDING_INDEX.to_owned(),
                    vec![
                        (schema::attr::PENDING_BUCKET.to_owned(), "HASH".to_owned()),
                        (schema::attr::PENDING_SINCE.to_owned(), "RANGE".to_owned())
                    ],
                    "KEYS_ONLY".to_owned()
                )
            ]
        );
        assert_eq!(table.ttl_attribute.as_deref(), Some(schema::TTL_ATTRIBUTE));
        // Client webhook events come from the stream's images of each item before and after a write.
        assert_eq!(table.stream_view.as_deref(), Some("NEW_AND_OLD_IMAGES"));
        let queues: Vec<(&str, Option<&str>)> = declared
            .queues
            .iter()
            .map(|q| (q.name.as_str(), q.dead_letter.as_ref().map(|(target, _)| target.as_str())))
            .collect();
        assert_eq!(
            queues,
            [("lightotp-webhooks-dead-letter", None), ("lightotp-webhooks", Some("WebhookDeadLetterQueue"))]
        );
        let secret_names: Vec<&str> = declared.secrets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            secret_names,
            [
                crate::ops::DEFAULT_PEPPER_SECRET,
                crate::ops::DEFAULT_WHATSAPP_TOKEN_SECRET,
                crate::ops::DEFAULT_WHATSAPP_APP_SECRET,
                crate::ops::DEFAULT_WHATSAPP_VERIFY_TOKEN,
                crate::ops::DEFAULT_FALLBACK_KEY
            ]
        );
        // The functions' defaults name the same secrets and sender the template declares.
        let config = lightotp::config::Config::from_lookup(|name| {
            ["TABLE_NAME", "PEPPER_SECRET_ID", "WHATSAPP_TOKEN_SECRET_ID"].contains(&name).then(|| "x".to_owned())
        })
        .expect("config");
        assert_eq!(config.whatsapp_app_secret_id, crate::ops::DEFAULT_WHATSAPP_APP_SECRET);
        assert_eq!(config.whatsapp_verify_token_secret_id, crate::ops::DEFAULT_WHATSAPP_VERIFY_TOKEN);
        assert_eq!(config.fallback_key_secret_id, crate::ops::DEFAULT_FALLBACK_KEY);
        assert_eq!(declared.email_identities, [config.email_from]);
    }

    #[test]
    fn every_alarm_notifies_the_alarm_topic_and_watches_only_metrics_the_code_writes() {
        let doc: Value = serde_yaml::from_str(TEMPLATE).expect("template.yaml parses");
        let resources = doc["Resources"].as_mapping().expect("resources");
        let alarms: Vec<&Value> = resources
            .values()
            .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
            .map(|r| &r["Properties"])
            .collect();
        assert!(alarms.len() >= 12, "{} alarms", alarms.len());
        let mut watched = Vec::new();
        for alarm in &alarms {
            let name = alarm["AlarmName"].as_str().unwrap_or("an alarm");
            let actions = serde_yaml::to_string(&alarm["AlarmActions"]).expect("yaml");
            assert!(actions.contains("AlarmTopic"), "{name} notifies the alarm topic: {actions}");
            // A single metric, or each metric of its math.
            let mut metrics = vec![(&alarm["Namespace"], &alarm["MetricName"])];
            for metric in alarm["Metrics"].as_sequence().into_iter().flatten() {
                let stat = &metric["MetricStat"]["Metric"];
                metrics.push((&stat["Namespace"], &stat["MetricName"]));
            }
            for (namespace, metric) in metrics {
                if namespace.as_str() == Some(lightotp::metrics::NAMESPACE) {
                    watched.push(metric.as_str().expect("a metric name").to_owned());
                }
            }
        }
        assert!(!watched.is_empty(), "the alarms watch our own metrics too");
        for metric in watched {
            assert!(lightotp::metrics::name::ALL.contains(&metric.as_str()), "no code writes {metric}");
        }
    }

    #[test]
    fn the_template_configures_every_variable_the_functions_read() {
        let doc: Value = serde_yaml::from_str(TEMPLATE).expect("template.yaml parses");
        let variables = &doc["Globals"]["Function"]["Environment"]["Variables"];
        for name in [
            "TABLE_NAME",
            "PEPPER_SECRET_ID",
            "WHATSAPP_TOKEN_SECRET_ID",
            "API_KEY_SECRET_PREFIX",
            "WHATSAPP_APP_SECRET_ID",
            "WHATSAPP_VERIFY_TOKEN_SECRET_ID",
            "FALLBACK_KEY_SECRET_ID",
            "EMAIL_FROM",
            "RATE_LIMIT_PER_MINUTE",
            "SWEEP_GRACE_SECONDS",
        ] {
            assert!(!variables[name].is_null(), "{name} is not set in Globals");
        }
        assert_eq!(variables["API_KEY_SECRET_PREFIX"].as_str(), Some(crate::ops::DEFAULT_API_KEY_PREFIX));
    }
}
