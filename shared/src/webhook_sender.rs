//! Posts a client webhook to its endpoint (reqwest), never to an address the policy forbids: an IP-literal host is
//! checked by [`EndpointUrl::parse`], and a name is resolved by [`GuardedResolver`], which refuses it if any of its
//! addresses is forbidden, at every delivery (DNS can change). No redirects are followed and no proxy is used, so
//! the connection goes where the check looked (docs/webhooks.md, Where endpoints may point).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::client_webhook::{AddressPolicy, EndpointUrl, UrlRefusal, answer_excerpt};

/// How long a host name may take to resolve.
const DNS_TIMEOUT: Duration = Duration::from_secs(3);

/// Resolves a host name, and refuses it unless every address it has is allowed.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    policy: AddressPolicy,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(UrlRefusal);

impl GuardedResolver {
    /// A resolver applying `policy`.
    pub fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }

    /// The host's addresses if every one is allowed.
    pub async fn check(&self, host: &str) -> Result<Vec<SocketAddr>, UrlRefusal> {
        if host.eq_ignore_ascii_case("localhost") {
            return if self.policy == AddressPolicy::AllowLoopback {
                Ok(vec![SocketAddr::from(([127, 0, 0, 1], 0))])
            } else {
                Err(UrlRefusal::ForbiddenAddress)
            };
        }
        // A name server that never answers must not hold a dashboard request (or an attempt) for long.
        let lookup = tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((host, 0)))
            .await
            .map_err(|_| UrlRefusal::Unresolvable)?;
        let addresses: Vec<SocketAddr> = lookup.map_err(|_| UrlRefusal::Unresolvable)?.collect();
        if addresses.is_empty() {
            return Err(UrlRefusal::Unresolvable);
        }
        if addresses.iter().any(|a| !self.policy.allows(a.ip())) {
            return Err(UrlRefusal::ForbiddenAddress);
        }
        Ok(addresses)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolver.check(&host).await.map_err(Refused)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Checks a URL a client registers under `policy`: its form, then every address its host resolves to.
pub async fn check_endpoint_url(policy: AddressPolicy, raw: &str) -> Result<EndpointUrl, UrlRefusal> {
    let url = EndpointUrl::parse(raw, policy)?;
    if url.host().parse::<std::net::IpAddr>().is_err() {
        GuardedResolver::new(policy).check(url.host()).await?;
    }
    Ok(url)
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// The HTTP status, if the endpoint answered in time.
    pub status: Option<u16>,
    /// The first 1 KB of the answer.
    pub answer: String,
    /// How long the attempt took.
    pub latency: Duration,
    /// Why there is no status (timeout, connection refused, forbidden address).
    pub error: Option<String>,
}

impl Attempted {
    /// A 2xx in time.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The headers of one signed delivery.
#[derive(Debug, Clone)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: &'a str,
}

/// The HTTP client that posts to endpoints.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    policy: AddressPolicy,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender applying `policy`, giving each attempt `timeout` (10 s deployed), with no redirects and no proxy.
    pub fn new(policy: AddressPolicy, timeout: Duration) -> reqwest::Result<Self> {
        let resolver = GuardedResolver::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .tls_certs_only(crate::tls::mozilla_roots())
            .user_agent("lightotp-webhooks/1")
            .build()?;
        Ok(Self { client, policy, timeout })
    }

    /// Where endpoints may point.
    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Posts `body` to `url` with the signature headers, and reads at most 1 KB of the answer.
    pub async fn post(&self, url: &str, headers: &SignedHeaders<'_>, body: &str) -> Attempted {
        let started = Instant::now();
        let refused = |error: String| Attempted {
            status: None,
            answer: String::new(),
            latency: started.elapsed(),
            error: Some(error),
        };
        // The form and an IP-literal host are checked again, and the URL is sent as read by that check (a name is
        // checked by the resolver as the connection is made).
        let url = match EndpointUrl::parse(url, self.policy) {
            Ok(url) => url,
            Err(refusal) => return refused(refusal.to_string()),
        };
        let sent = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", headers.id)
            .header("webhook-timestamp", headers.timestamp.to_string())
            .header("webhook-signature", headers.signature)
            .body(body.to_owned())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return refused(describe(&err, self.timeout)),
        };
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while answer.len() < 1024 {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                // The status arrived; a body cut short by the timeout is kept as far as it came.
                Err(_) => break,
            }
        }
        Attempted { status: Some(status), answer: answer_excerpt(&answer), latency: started.elapsed(), error: None }
    }
}

/// A short, stable description of why an attempt got no answer (never a secret: the URL is the client's).
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.0.to_string();
        }
        source = cause.source();
    }
    if err.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else if err.is_redirect() {
        "redirects are not followed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}
