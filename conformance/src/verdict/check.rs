//! The checks a case names (`expect.checks`), and the response rules
//! (`crate::rules`) run on every response: which function runs each one.

use super::compare::{
    check_cache_fields, check_control_etag, check_control_fields, check_control_length,
    check_no_credentials_echo, check_trace_echo, check_upgrade,
};
use super::context::Context;
use super::fields::{
    absent, check_allow, check_content_type, check_date, check_date_now, check_error_body,
    check_last_modified, check_location, check_no_304_metadata, check_options_allow,
    check_validators,
};
use super::framing::{
    check_close_announced, check_close_header, check_closed, check_content_length,
    check_has_content_length, check_no_body, check_no_interim,
};
use super::grammar::{
    check_field_values, check_reason, check_reason_phrase, check_status_sp, check_version,
};
use super::range::{check_partial, check_unsatisfied};
use crate::case::Check;
use crate::wire::{Outcome, Response};

/// Runs one check on a response: `None` if it does not apply, `Some(Ok)`
/// if it holds, `Some(Err(what is wrong))` if not.
pub(crate) fn run_check(
    check: Check,
    response: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    let r = response;
    match check {
        Check::Date => check_date(r),
        Check::ContentLength => check_content_length(r),
        Check::NoBody => check_no_body(r),
        Check::Allow => check_allow(r),
        Check::Closed => Some(check_closed(r)),
        Check::CloseHeader => Some(check_close_header(r)),
        Check::Version => Some(check_version(r, context)),
        Check::Reason => check_reason(r),
        Check::StatusSp => Some(check_status_sp(r)),
        Check::HasContentLength => check_has_content_length(r),
        Check::NoInterim => Some(check_no_interim(r)),
        Check::NoTransferEncoding => Some(absent(r, "Transfer-Encoding")),
        Check::OptionsAllow => check_options_allow(r),
        Check::Location => check_location(r),
        Check::LastModified => check_last_modified(r),
        Check::ContentType => check_content_type(r),
        Check::Validators => check_validators(r),
        Check::ErrorBody => check_error_body(r),
        Check::DateNow => check_date_now(r),
        Check::ControlEtag => check_control_etag(r, context),
        Check::ControlLength => check_control_length(r, context),
        Check::ControlFields => check_control_fields(r, context),
        Check::Range => check_partial(r, context),
        Check::UnsatisfiedRange => check_unsatisfied(r, context),
        Check::NoContentCoding => Some(absent(r, "Content-Encoding")),
        Check::CloseAnnounced => check_close_announced(&Outcome::Response(r.clone()), context),
        Check::CacheFields => check_cache_fields(r, context),
        Check::No304Metadata => check_no_304_metadata(r),
        Check::Upgrade => check_upgrade(r, context),
        Check::NoCredentialsEcho => check_no_credentials_echo(r, context),
        Check::TraceEcho => check_trace_echo(r, context),
        Check::ReasonPhrase => Some(check_reason_phrase(r)),
        Check::FieldValue => Some(check_field_values(r)),
    }
}
