"""Live updates: an in-process publish/subscribe of job events, served as
Server-Sent Events. Every event is published on its job's channel and on
the ``jobs`` channel that the home page follows.

Events (the SSE ``event:`` name, its JSON ``data``):

* ``status``: {job_id, status, error};
* ``progress``: {job_id, percentage (0-100), eta (seconds or null)};
* ``graph``: {job_id, phase ('train'|'val'), name, epoch, value}, one
  point of a training curve (``learning_rate`` included);
* ``snapshots``: {job_id, snapshots: [epochs]}.
"""
import asyncio
import json

ALL_JOBS = 'jobs'
# A client that reads slower than this many queued events is dropped: its
# stream ends, and the browser's EventSource reconnects and is sent each
# job's current state first (the events it missed are then out of date).
QUEUE_LIMIT = 10000
# What a dropped subscriber's queue holds instead of its unread events.
DROPPED = None
HEARTBEAT_SECONDS = 15


class EventBus:
    """Channels of subscriber queues."""

    def __init__(self, queue_limit=QUEUE_LIMIT):
        self.channels = {}
        self.queue_limit = queue_limit

    def subscribe(self, channel):
        queue = asyncio.Queue(self.queue_limit)
        self.channels.setdefault(channel, set()).add(queue)
        return queue

    def unsubscribe(self, channel, queue):
        subscribers = self.channels.get(channel, set())
        subscribers.discard(queue)
        if not subscribers:
            self.channels.pop(channel, None)

    def publish(self, job_id, event, **data):
        """Send ``event`` with ``data`` (and job_id) to the job's channel
        and to ALL_JOBS."""
        data['job_id'] = job_id
        message = (event, data)
        for channel in (job_id, ALL_JOBS):
            for queue in list(self.channels.get(channel, ())):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    self.drop(channel, queue)

    def drop(self, channel, queue):
        """Unsubscribe a queue that is full, leaving it only DROPPED."""
        self.unsubscribe(channel, queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(DROPPED)


def format_event(event, data):
    """One SSE message."""
    return 'event: %s\ndata: %s\n\n' % (event, json.dumps(data, separators=(',', ':')))


async def stream(bus, channel, first=list):
    """The SSE text of ``channel``: the (event, data) pairs that ``first()``
    returns (the current state), then every published event, with a comment
    line as heartbeat; it ends when the bus drops this subscriber (so that
    the client reconnects). ``first`` is called once subscribed, so that no
    change falls between the state it reads and the events that follow."""
    queue = bus.subscribe(channel)
    try:
        for event, data in first():
            yield format_event(event, data)
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                yield ': keep-alive\n\n'
                continue
            if message is DROPPED:
                return
            yield format_event(*message)
    finally:
        bus.unsubscribe(channel, queue)
