"""Suggested categories: the grouping pipeline (reducer, clusterer, namer), its results, agreement and misfiled products."""

from prodsim.clustering.base import Clusterer, OneGroup
from prodsim.clustering.groups import Clusters, agreement, central_products, misfiled_products
from prodsim.clustering.hdbscan import CLUSTER_SAMPLE, HDBSCANClusterer
from prodsim.clustering.kmeans import KMeansClusterer
from prodsim.clustering.pipeline import (
    METHODS, GroupingPipeline, cluster_labels, cluster_products, name_clusters, pipeline_for, split_group, stored_clusters,
)

__all__ = ["CLUSTER_SAMPLE", "METHODS", "Clusterer", "Clusters", "GroupingPipeline", "HDBSCANClusterer", "KMeansClusterer", "OneGroup",
           "agreement", "central_products", "cluster_labels", "cluster_products", "misfiled_products", "name_clusters", "pipeline_for",
           "split_group", "stored_clusters"]
