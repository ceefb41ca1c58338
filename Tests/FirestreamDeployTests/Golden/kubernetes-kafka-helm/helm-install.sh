#!/bin/sh
# Installs the services of project firestream-stack with pinned chart versions, then applies
# Firestream's own manifests. Needs helm and kubectl; run it from anywhere.
set -eu
cd "$(dirname "$0")"
kubectl apply -f namespace.yaml
helm repo add --force-update airflow https://airflow.apache.org
helm repo add --force-update spark-operator https://kubeflow.github.io/spark-operator
helm upgrade --install kafka oci://registry-1.docker.io/bitnamicharts/kafka --version 32.4.4 \
  --namespace firestream-stack --values services/values-kafka.yaml --wait --timeout 15m
helm upgrade --install minio oci://registry-1.docker.io/bitnamicharts/minio --version 17.0.23 \
  --namespace firestream-stack --values services/values-minio.yaml --wait --timeout 15m
helm upgrade --install postgresql oci://registry-1.docker.io/bitnamicharts/postgresql --version 17.1.0 \
  --namespace firestream-stack --values services/values-postgresql.yaml --wait --timeout 15m
helm upgrade --install contour oci://registry-1.docker.io/bitnamicharts/contour --version 21.1.5 \
  --namespace firestream-stack --values services/values-contour.yaml --wait --timeout 15m
helm upgrade --install spark-operator spark-operator/spark-operator --version 2.5.2 \
  --namespace firestream-stack --values services/values-spark-operator.yaml --wait --timeout 15m
helm upgrade --install airflow airflow/airflow --version 1.21.0 \
  --namespace firestream-stack --values services/values-airflow.yaml --wait --timeout 15m
kubectl apply -k .
