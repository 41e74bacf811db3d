//! The error an action's observe or apply step returns.
//!
//! It lives below both the executor ([`crate::exec`]) and the providers (Graph, Exchange, AD, the
//! PSAs): the providers return it and the executor reads it, so neither has to know the other.
//! All the executor needs to know of a provider's failure is whether the write may have landed
//! anyway ([`ProviderError::maybe_applied`]), which decides between re-observing and reporting a
//! failure; the provider's own error type is kept, boxed, for its message.

/// A provider's error type, as the executor sees it.
pub trait ProviderError: std::error::Error + Send + Sync + 'static {
    /// The write may have been applied despite this error (a timeout, a 504 after the request
    /// was sent): the executor re-observes before deciding, and never resends blindly.
    fn maybe_applied(&self) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// A provider call failed (Graph, Exchange, LDAP, a PSA).
    #[error("{0}")]
    Provider(Box<dyn ProviderError>),
    /// Anything else: a missing provider, an object that vanished, a journal failure.
    #[error("{0}")]
    Other(String),
}

impl<E: ProviderError> From<E> for ActionError {
    fn from(e: E) -> Self {
        ActionError::Provider(Box::new(e))
    }
}

impl ActionError {
    /// A write may have been applied despite this error: re-observe before deciding.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ActionError::Provider(e) => e.maybe_applied(),
            ActionError::Other(_) => false,
        }
    }
}
