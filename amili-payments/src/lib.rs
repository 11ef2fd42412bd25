//! amili-payments (work in progress).
