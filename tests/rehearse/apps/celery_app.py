"""A `celery` service's workers, for the rehearsal: a Celery application at its defaults, whose
tasks the rehearsal sends for traffic and faults.

Tasks:
  rehearsal.ok            returns at once
  rehearsal.flaky(fail)   raises ValueError when `fail` is true, returns otherwise

Run: celery -b <broker URL> -A celery_app worker ... (the rehearsal starts it so, from this
directory); the rehearsal sends tasks with `send(broker_url, name, args, queue)`.
"""

from celery import Celery

app = Celery("rehearsal")


@app.task(name="rehearsal.ok")
def ok():
    return True


@app.task(name="rehearsal.flaky")
def flaky(fail):
    if fail:
        raise ValueError("the rehearsal asked this task to fail")
    return True
