module sightline.local/tools/kube_cron

go 1.26.0

tool sightline.local/tools/kube_cron/kube-cron

require github.com/robfig/cron/v3 v3.0.1
