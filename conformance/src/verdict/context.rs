//! What grading compares a response with besides the case: the control's
//! answer to the same resource, the step before, the request sent.

use crate::wire::Outcome;

/// What grading a step may compare a response with: the control's answer
/// and the response to the step before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context<'a> {
    /// The status code the control GET got: what the `control` token matches.
    pub control_status: u16,
    /// The control GET's `ETag`.
    pub etag: Option<&'a str>,
    /// How many content bytes the control GET received.
    pub length: Option<u64>,
    /// The control GET's content (up to what the client keeps).
    pub body: Option<&'a [u8]>,
    /// The control GET's header field names, lowercase.
    pub fields: &'a [String],
    /// The response the previous reading step of the case got, if any.
    pub previous: Option<&'a Outcome>,
    /// The bytes the case sent last, up to this step: the request this
    /// response most likely answers (the `range` check reads its Range).
    pub request: Option<&'a [u8]>,
    /// Whether the control found that the target keeps connections open:
    /// for such a server an unannounced close breaks a SHOULD only.
    pub persistent: bool,
    /// The HTTP version of the control's response: the highest the target
    /// says it conforms to (`None`: HTTP/1.1).
    pub version: Option<&'a str>,
}

impl Default for Context<'_> {
    /// A control that got 200 and nothing else known.
    fn default() -> Self {
        Context {
            control_status: 200,
            etag: None,
            length: None,
            body: None,
            fields: &[],
            previous: None,
            request: None,
            persistent: false,
            version: None,
        }
    }
}
