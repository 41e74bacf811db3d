//! End-to-end tests of the Graph client against small axum mock servers on 127.0.0.1:0.

mod behaviour;
mod mock;
