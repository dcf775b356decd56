//! Where the stack's programs run, in the words the alerts' descriptions use: the one place a
//! rule's advice depends on the platform. A rule's expression never does (a test compares the
//! two trees' rules); what it tells the person paged (which log to read, what to run, where a
//! job reports) does, and is asked of `Advice`.

use crate::ir::Stack;
use crate::manifest::model::Platform;
use crate::targets::kubernetes;
use crate::targets::paths::pushgateway_url;

/// Where the stack runs, for the advice of its alerts.
pub enum Advice<'a> {
    /// One host, the programs compose's containers.
    Compose,
    /// The stack's cluster: the backups are CronJobs, the results pushed to the Pushgateway.
    Kubernetes(&'a Stack),
}

impl<'a> Advice<'a> {
    pub fn of(stack: &'a Stack) -> Self {
        match stack.platform {
            Platform::Compose => Advice::Compose,
            Platform::Kubernetes => Advice::Kubernetes(stack),
        }
    }

    /// Whether the backups' results are files node-exporter reads (compose), not pushed.
    pub fn backup_results_in_files(&self) -> bool {
        matches!(self, Advice::Compose)
    }

    /// Where the log of backup job `job`'s last run is.
    pub fn backup_log(&self, job: &str) -> String {
        match self {
            Advice::Compose => "the backup container's log".to_string(),
            Advice::Kubernetes(stack) => {
                format!("the log of the last Job of the CronJob {}", kubernetes::backups::cronjob_names(stack, job)[0])
            }
        }
    }

    /// Why no run of backup job `job` has left its metrics for `window`.
    pub fn backup_metrics_missing(&self, job: &str, window: &str) -> String {
        match self {
            Advice::Compose => format!(
                "No run of backup job {job} has left its metrics for node-exporter in {window}: the backup runner or its cron is not running, or node-exporter does not read the textfile directory."
            ),
            Advice::Kubernetes(stack) => format!(
                "No run of backup job {job} has pushed its metrics to the Pushgateway in {window}: its CronJob has not run {}, or cannot reach {}.",
                cronjob_not_running(stack),
                pushgateway_url()
            ),
        }
    }

    /// Why no restore test of job `job` has recorded a run.
    pub fn restore_test_not_recording(&self, job: &str) -> String {
        match self {
            Advice::Compose => "the backup runner or its cron is not running, or its runs do not finish or end before they record (the runner's log says why)".to_string(),
            Advice::Kubernetes(stack) => format!(
                "its CronJob {} has not run {}, its runs are cut at their deadline before they finish, or they cannot reach the Pushgateway",
                kubernetes::backups::cronjob_names(stack, job)[1],
                cronjob_not_running(stack)
            ),
        }
    }

    /// The URL the batch jobs push their results to.
    pub fn pushgateway_url(&self) -> String {
        match self {
            Advice::Compose => pushgateway_url(),
            Advice::Kubernetes(stack) => kubernetes::pushgateway::url(stack),
        }
    }

    /// Where to look when Loki's ruler cannot deliver to Alertmanager.
    pub fn loki_notifications_failing(&self) -> &'static str {
        match self {
            Advice::Compose => {
                "Sending alerts from Loki's ruler to Alertmanager has been failing for 5 minutes: the log-based alerts fire and nobody hears them. Loki's log names the error; behind `observability.alertmanager.auth`, a 401 means the credentials file does not hold base64 of the user and the current password."
            }
            Advice::Kubernetes(_) => {
                "Sending alerts from Loki's ruler to Alertmanager has been failing for 5 minutes: the log-based alerts fire and nobody hears them. Loki's log names the error; the ruler sends to the chart's Alertmanager Service (`loki.rulerConfig.alertmanager_url` in helm/loki.values.yaml)."
            }
        }
    }
}

/// Why a CronJob's results do not arrive, as kubectl shows it.
fn cronjob_not_running(stack: &Stack) -> String {
    format!("(suspended, or its pod cannot start: `kubectl get cronjob,job,pod -n {}`)", stack.kubernetes.namespace)
}
