//! The floor that `cargo xtask bench` measures every function against: what Rust on Lambda costs with no work.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::Text("{}".to_owned())))
    }))
    .await
}
