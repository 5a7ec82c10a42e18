"""gunicorn's settings for Xiyue: `gunicorn -c config/gunicorn.conf.py wsgi:app`
(scripts/run.sh, docs/deploy.md §2). Options on the command line win over this file, so
each host still chooses its workers, bind address and timeouts there.

The access log goes through config.log_masking.MaskingLogger: the secret of every link
(/a/<token>, /t/<token>, /rate/t/<token>, /suggestions/t/<token>, /api/v1/appointments/<token>,
/api/v1/tickets/<token>) is written as "…", in the request line, the path, the Referer and
every other atom; so are the error log's arguments."""

logger_class = "config.log_masking.MaskingLogger"
accesslog = "-"  # standard output (journald under systemd)
# nginx's address, the client's (nginx sets X-Forwarded-For), request, status, size, time
access_log_format = '%(h)s %({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(D)sµs "%(f)s"'
errorlog = "-"
