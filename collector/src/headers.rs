//! Response headers of every answer: the security headers (README "Limits
//! and access"), and caching of the built tracker under `/dist/`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

/// `Cache-Control` of `/dist/*`: the bundles keep their names across
/// builds, so a browser keeps one an hour, then revalidates it by `ETag`.
pub const DIST_CACHE_CONTROL: &str = "public, max-age=3600";

/// The Content-Security-Policy of every answer. Pages load scripts and
/// styles from files of their own origin only (no inline script, style or
/// event handler); `'wasm-unsafe-eval'` lets the tracker compile its
/// WebAssembly; `connect_src` adds sources pages may fetch from besides
/// their own origin.
pub fn content_security_policy(connect_src: Option<&str>) -> String {
    let connect = match connect_src.map(str::trim).filter(|s| !s.is_empty()) {
        Some(extra) => format!("'self' {extra}"),
        None => "'self'".to_owned(),
    };
    // No base-uri: scripts come from 'self' only, so a <base> cannot point
    // one elsewhere, and the pages' tracing tests set a <base> of another
    // origin to check how the tracker resolves relative URLs.
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect}; object-src 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The layers that add the security headers to answers that lack them.
pub fn security_layers(
    csp: &str,
) -> Result<[SetResponseHeaderLayer<HeaderValue>; 4], header::InvalidHeaderValue> {
    Ok([
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(csp)?,
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // For browsers that predate frame-ancestors.
        SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        // Same-origin navigation keeps full referrers (the demo site's
        // page views name them); other origins learn the origin only.
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ])
}

/// Adds `Cache-Control` to a served or revalidated `/dist/` file.
pub fn dist_caching<B>(mut res: Response<B>) -> Response<B> {
    if res.status() == StatusCode::OK
        || res.status() == StatusCode::NOT_MODIFIED
        || res.status() == StatusCode::PARTIAL_CONTENT
    {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(DIST_CACHE_CONTROL),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_code_and_adds_connect_sources() {
        let csp = content_security_policy(None);
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(csp.contains("connect-src 'self';"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let csp = content_security_policy(Some(" http://127.0.0.1:* "));
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:*;"));
        assert!(security_layers(&csp).is_ok());
    }
}
