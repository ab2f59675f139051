// Package webhook sends Steward's domain events to other systems: outbound
// webhooks, as CloudEvents 1.0 in structured JSON, signed per the Standard
// Webhooks specification.
//
// A Subscription names a receiver URL, the event types it wants (none: all
// of outbox.Types) and optionally an org unit: it then receives only the
// events of that org unit's subtree. Its secret (whsec_<base64>, shown once
// at creation and at each rotation) keys the HMAC-SHA256 signature.
//
// Lifecycle of a delivery:
//
//   - The Service is an outbox sink: inside the dispatcher's transaction it
//     writes one delivery per (event, matching enabled subscription), with
//     the CloudEvents payload built then; the (event, subscription) pair is
//     unique, so a batch dispatched twice writes nothing twice.
//   - The deliverer (Run) claims due deliveries with a lease (FOR UPDATE
//     SKIP LOCKED on PostgreSQL, so replicas share the work), never one
//     whose subscription has an earlier undelivered delivery for the same
//     subject, and POSTs it. A 2xx answer delivers it; anything else
//     (refused, timed out, a redirect, 4xx, 5xx) schedules a retry with
//     exponential backoff and jitter until RetryFor (a day) has passed,
//     then it is dead-lettered.
//   - A process killed during a delivery leaves the claim to expire; the
//     delivery is then sent again with the same webhook-id (its ID), so
//     receivers deduplicate on it: delivery is at least once.
//   - When a delivery is dead-lettered and nothing was delivered to its
//     subscription for DisableAfter (a day), the subscription is disabled,
//     with an audit record and the reason shown to its owner.
//   - Redeliver puts a delivered or dead delivery back in the queue with the
//     same ID and payload.
//
// Sending is bounded: a connect timeout, a timeout for the whole attempt,
// the response body read up to 64 KiB (2 KiB kept in the log), redirects
// not followed, and addresses in loopback, private, link-local, shared and
// unspecified ranges refused when the connection is made (not only when
// the URL is saved), unless the server allows them (AllowPrivate).
package webhook
