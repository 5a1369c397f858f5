//! The layouts warroom posts: incident summary, announcement, updates.
