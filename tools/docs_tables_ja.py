"""The Japanese texts of the generated tables (``tools.docs_tables``, language ``ja``).

``KEYS`` holds, by configuration key, the Japanese of what the key's model field says in
English (``batchscratch.config``): ``meaning`` (its ``description``) and each worded entry of its
``json_schema_extra`` (``rule``, ``unset``, ``default_text``; the unit is named by ``JAPANESE``).
A key whose texts differ between the models that declare it (``onFailure``) holds one entry per
declaring model class. ``PARAMETERS`` holds, by template parameter, the Japanese of its
``Description``. tests/unit/test_docs_tables.py checks that every key and parameter has its
texts, and that no entry is left over.

Terms follow the AWS Japanese documentation: コンピューティング環境, ジョブキュー, ジョブ定義,
データリポジトリの関連付け, データリポジトリタスク, 起動テンプレート, スポットインスタンスの中断,
ステートマシン, 実行.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tools.docs_tables import Language


def _choices(values: Sequence[str]) -> str:
    if len(values) == 1:
        return values[0]
    return f"{'、'.join(values)} のいずれか"


JAPANESE = Language(
    config_headers=("キー", "意味", "単位", "既定値", "指定できる値", "既定で実行の入力から指定"),
    parameter_headers=("パラメータ", "既定値", "指定できる値", "意味"),
    yes="可",
    no="不可",
    none="なし",
    required="必須",
    empty="空",
    boolean='`true` または `false`（`"true"`、`"false"` も可）',
    range="{low}〜{high}",
    at_least="{value} 以上",
    at_most="{value} 以下",
    multiple_of="{value} の倍数",
    characters="{value} 文字以内",
    not_empty="空でない",
    list_of_strings="文字列のリスト",
    object_of_strings="値が文字列のオブジェクト",
    matches="`{value}` に一致",
    each_item="カンマ区切り。各項目が {value}",
    number="数値",
    separator="。",
    choices=_choices,
    units={
        "attempts": "回",
        "vCPUs": "vCPU",
        "MiB": "MiB",
        "GiB": "GiB",
        "MiB/s": "MiB/秒",
        "IOPS": "IOPS",
        "MB/s/TiB": "MB/秒/TiB",
        "seconds": "秒",
        "minutes": "分",
        "jobs": "ジョブ",
    },
    idle_headers=("実行がなくても課金されるもの", "スタック自身の VPC", "既存の VPC"),
    run_headers=(
        "モード",
        "ストレージ",
        "ストレージ（1 時間）",
        "スポットのコンピューティング（1 時間）",
        "合計（1 時間）",
    ),
    total="合計",
    costs_intro=(
        "{region} の料金（{date} 時点、`batchscratch_cli/prices.py`）、単位はドル。1 か月は "
        "{hours:g} 時間。スポットの料金は仮定: オンデマンド料金の {discount:.0%} 引き"
        "（スポットの料金は需要とアベイラビリティーゾーンごとに変わります）。各モードの既定値の実行を、"
        "ジョブ 1 時間あたり、{instance}（{instances} 台）で見積もったもの: `batch-scratch cost "
        "--mode <Mode>` が表示する値です。"
    ),
    costs_unchecked=(
        "{mark} AWS の料金ページそのものでは確認していない、{region} について公表されている値です。"
        "使う前に確認してください。"
    ),
    # The English lists costs.RUN_LEFT_OUT itself; this sentence says the same in short.
    costs_left_out=(
        "含まれないもの: ジョブの前後のストレージの時間（作成、エクスポート、削除）とジョブ後の"
        "コンピューティングの時間（docs/benchmarks.md が測定）、ステートマシンの状態遷移と Lambda の"
        "時間、インスタンスのルートボリュームとデータ転送、失敗した実行が残したもの"
        "（`batch-scratch leftovers` が料金を示します）。"
    ),
    sources="出典",
    idle_names={
        "AWS::EC2::NatGateway": "NAT ゲートウェイ",
        "AWS::EC2::EIP": "パブリック IPv4 アドレス",
        "AWS::SecretsManager::Secret": "Secrets Manager のシークレット",
        "AWS::CloudWatch::Alarm": "CloudWatch アラーム（標準解像度）",
        "AWS::KMS::Key": "KMS カスタマーマネージドキー",
    },
)
"""The words of the Japanese tables."""

_LUSTRE_ON_FAILURE = {
    "meaning": "実行が失敗したときのファイルシステムの扱い（`export`: エクスポートし、成功したときだけ削除）。"
}

KEYS: Mapping[str, Mapping[str, object]] = {
    "jobDefinitionContainerImage": {
        "meaning": "ジョブのイメージ。",
        "rule": "イメージ参照 `[registry[:port]/]path[:tag][@digest]`。スタックの ECR "
        "リポジトリか、テンプレートパラメータ `AllowedImagePrefixes` のリポジトリのもの",
        "default_text": "スタックの ECR リポジトリ（`{ecr_repository}`）、タグ `{unpinned_tag}`"
        "（`docker/push-image.sh --pin` がプッシュしたイメージのダイジェストを書き込みます）",
    },
    "jobDefinitionRetryAttempts": {
        "meaning": "ジョブの試行回数。Batch が再試行するのは、スポットインスタンスの中断（ステータスの理由 "
        "`Host EC2*`）、SIGTERM による終了（終了コード 143。スポットの中断通知と同じ。送り手は問わない）"
        "と、実行のマーカーがない場合（終了コード 75）。それ以外はジョブを終了します。",
    },
    "jobDefinitionVcpus": {
        "meaning": "ジョブの vCPU 数（Lustre のモードでは配列ジョブの子ジョブそれぞれの数）。",
        "rule": "テンプレートパラメータ `MaxvCpus` 以下。`jobDefinitionMemory` とあわせて、許可された"
        "インスタンスタイプのどれか 1 つに収まること",
    },
    "jobDefinitionMemory": {
        "meaning": "ジョブのメモリ。",
        "rule": "`jobDefinitionVcpus` とあわせて、許可されたインスタンスタイプのどれか 1 つに収まること",
    },
    "jobCommand": {
        "meaning": "ジョブのコマンド。",
        "rule": "各項目が空でない文字列。`jobEnvironment` とあわせて 16384 文字（JSON）以内",
        "unset": "イメージの `CMD`",
    },
    "jobEnvironment": {
        "meaning": "ジョブに追加する環境変数（実行が `S3_BUCKET_NAME`、`S3_PREFIX`、`SCRATCH_DIR`、"
        "`BATCH_SCRATCH_RUN_ID` を設定します。`S3_PREFIX` はバケット内で結果が置かれる場所）。",
        "rule": "有効な変数名であること。実行自身の変数、SDK・リンカー・プロキシ・TLS の信頼・実行される"
        "コードを変える変数（`AWS_*`、`LD_*`、`*_PROXY` など。一覧は "
        "docs/configuration.md）は不可。認証情報は入れないこと",
    },
    "jobAttemptTimeoutSeconds": {"meaning": "これより長く動いた試行を Batch が終了します。"},
    "jobStartTimeoutSeconds": {
        "meaning": "送信からこの秒数のうちに開始しない（最初の試行が `STARTING` か `RUNNING` に"
        "ならない）ジョブは終了され、実行は `JobStartTimeout` で失敗します（Batch のステータスの理由を"
        "示します）。監視は呼び出しの中で `waitForComputeSeconds` ごとに確認し、期限を過ぎることは"
        "ありません。",
    },
    "waitForJobCompletionSeconds": {
        "meaning": "既存のシークレットが検証を通るように受け付けるだけのキー。ジョブはポーリングせずに"
        "追跡します（submitJob.sync）。",
    },
    "waitForComputeSeconds": {
        "meaning": "コンピューティング環境の作成中・後片付け中の確認の間隔の上限、およびジョブ開始の監視の"
        "確認の間隔。",
    },
    "storageTimeoutSeconds": {
        "meaning": "この時間までにストレージ（ボリューム、またはファイルシステムとその S3 との関連付け）が"
        "利用可能にならなければ、実行は `StorageTimeout` で失敗します。",
    },
    "computeTimeoutSeconds": {
        "meaning": "この時間までにコンピューティング環境とジョブキューの準備ができなければ、実行は "
        "`ComputeTimeout` で失敗します。",
    },
    "cleanupTimeoutSeconds": {
        "meaning": "後片付けまたは解放がこの時間を過ぎると `CleanupTimeout` で失敗します。残ったものは"
        "タグを保ちます。",
    },
    "deleteEbs": {
        "meaning": "実行が成功したらボリュームを削除します。`false` では、失敗した場合も含めてボリュームを"
        "残し、`batch-scratch:retained-reason` タグを付けます（このとき `onFailure` は適用されません）。",
    },
    "ebsSizeGb": {"meaning": "ボリュームのサイズ。"},
    "ebsIOPS": {
        "meaning": "プロビジョニングする gp3 の IOPS。",
        "rule": "`ebsSizeGb` の 1 GiB あたり 500 以下",
    },
    "ebsThroughput": {
        "meaning": "プロビジョニングする gp3 のスループット。",
        "rule": "`ebsIOPS` の 1 IOPS あたり 0.25 以下",
    },
    "waitForEbsCreationSeconds": {
        "meaning": "ボリュームの作成中の確認の間隔の上限（確認は 2 秒から間隔を広げ、確認ステップの"
        "呼び出しの中で行います）。",
    },
    "waitAfterDetachSeconds": {
        "meaning": "ボリュームのデタッチ、スナップショット作成、削除の間の確認の間隔の上限。",
    },
    "onFailure": {
        "OnlyEbsConfig": {"meaning": "実行が失敗したときのボリュームの扱い。"},
        "LustreConfig": _LUSTRE_ON_FAILURE,
    },
    "deleteLustre": {
        "meaning": "実行とエクスポートが成功したらファイルシステムを削除します（AutoExport では、"
        "エクスポートのキューが空になり、`verifyExportBeforeDelete` が false でなければ最後の"
        "エクスポートで確かめたあと）。`false` では、失敗した場合も含めて残し、"
        "`batch-scratch:retained-reason` タグを付けます（このとき `onFailure` は適用されません）。",
    },
    "lustreFileSystemTypeVersion": {
        "meaning": "Lustre のバージョン（常に送ります。送らないと FSx は S3 と関連付けられない 2.10 を"
        "作成します）。",
    },
    "lustreStorageCapacity": {
        "meaning": "ファイルシステムの容量。",
        "rule": "1200、2400、以降は 2400 の倍数。テンプレートパラメータ `MaxLustreStorageCapacity` 以下",
    },
    "lustreImportedFileChunkSize": {"meaning": "S3 からインポートするファイルのストライプサイズ。"},
    "lustreDeploymentType": {
        "meaning": "デプロイの種類。スタックに `KmsKeyArn` を指定した場合は `PERSISTENT_1` か "
        "`PERSISTENT_2` のみ（FSx はスクラッチのファイルシステムを自身のキーで暗号化します。"
        "docs/encryption.md）。",
        "rule": "`SCRATCH_2`、`PERSISTENT_1`、`PERSISTENT_2` のいずれか（`SCRATCH_1` は S3 と関連"
        "付けられません）",
    },
    "lustrePerUnitStorageThroughput": {
        "meaning": "永続的な種類のストレージ 1 TiB あたりのスループット。",
        "rule": "`PERSISTENT_1`: 50、100、200。`PERSISTENT_2`: 125、250、500、1000",
        "unset": "その種類の最小値",
    },
    "dataRepositoryPath": {
        "meaning": "`/scratch` に関連付ける S3 のパス: ここからインポートし、ここへエクスポートします"
        "（AutoExport では削除も反映）。ここで指定したパスはそのとおりに関連付けられ、同じパスを指定した"
        "すべての実行で共有されます。",
        "rule": "スタックのデータバケット内。`s3://<DataBucketName>/`（ルート）または "
        "`s3://<DataBucketName>/prefix/`（末尾の `/` がなければ補います）。バケットが存在すること",
        "unset": "実行自身のプレフィックス `s3://<DataBucketName>/runs/<run id>/`",
    },
    "inputDataRepositoryPath": {
        "meaning": "`/input` にインポート専用で関連付ける S3 のパス: ジョブは `/input` で読み取り専用で"
        "読み、エクスポートが書き込むことはありません。",
        "rule": "スタックのデータバケット内で、`dataRepositoryPath` の外（互いに含まないこと）",
        "unset": "なし: 入力用のデータリポジトリの関連付けを作りません",
    },
    "arraySize": {
        "meaning": "1 ならジョブを 1 つ実行し、それより大きければその数の子ジョブを持つ配列ジョブを同じ"
        "ファイルシステムで実行します。",
    },
    "waitForLustreCreationSeconds": {
        "meaning": "ファイルシステムと S3 とのデータリポジトリの関連付けの作成中の確認の間隔の上限"
        "（確認は 2 秒から間隔を広げ、確認ステップの呼び出しの中で行います）。",
    },
    "waitForDataRepositoryTaskSeconds": {
        "meaning": "エクスポートのデータリポジトリタスクとファイルシステムの削除の確認の間隔の上限。",
    },
    "exportTimeoutSeconds": {
        "meaning": "この時間までにエクスポートが終わらなければ、実行は `ExportTimeout` で失敗します。"
        "ファイルシステムは残します。",
    },
    "waitForCheckMetricsSeconds": {
        "meaning": "エクスポートのキューが空になったかの確認（メトリクスの期間の終わりごと）の間隔の上限、"
        "および自動エクスポートを止める間の確認の間隔の上限。",
    },
    "lambdaPeriodSeconds": {
        "meaning": "`AgeOfOldestQueuedMessage` を問い合わせる期間（統計 Maximum）。",
    },
    "lambdaTimeDiffMinutes": {
        "meaning": "`verifyExportBeforeDelete` が false のとき: 静かな時間窓。ジョブの終了より後の直近の"
        "この分数に、すべて 0 のデータポイントがあること。確認のエクスポートをする場合は、ジョブの終了"
        "以降の最新のデータポイントが 0 なら十分です。",
        "rule": "`lambdaPeriodSeconds` の 2 期間分以上",
    },
    "drainTimeoutSeconds": {
        "meaning": "この時間のうちにキューが空にならなければ、待つのをやめてエクスポートタスクで確かめます"
        "（データポイントがまったくないままメトリクスの期間が 5 回過ぎた場合も同じ: 発行されない"
        "メトリクスが空になることはありません）。",
    },
    "verifyExportBeforeDelete": {
        "meaning": "キューが空になったあと自動エクスポートを止め、失敗したファイルが 0 の最後の"
        "エクスポートタスクを確かめてから削除します。`false` ではキューの確認だけで削除します。",
    },
}
"""Japanese texts of every configuration key, by key (and by declaring model where the English
differs between models)."""

PARAMETERS: Mapping[str, str] = {
    "Mode": "各実行のスクラッチストレージ。TaskExport: データバケットと関連付けた FSx for Lustre "
    "ファイルシステム。結果はジョブの後にエクスポートタスクが S3 にコピーします。AutoExport: 自動"
    "エクスポートを有効にした同じファイルシステム。エクスポートのキューが空になったら（既定では最後の"
    "エクスポートタスクで確かめてから）削除します。OnlyEBS: 1 台のノードに暗号化された gp3 EBS "
    "ボリュームを 1 つ。",
    "EcrRepositoryName": "このスタックがジョブのイメージ用に作る ECR リポジトリの名前。空ならモードの"
    "標準の名前: batch-job-with-lustre-task-export（TaskExport）、batch-job-with-lustre-auto-export"
    "（AutoExport）、batch-job-with-ebs（OnlyEBS）。タグは変更不可: docker/push-image.sh --pin <stack> "
    "が新しいタグをプッシュし、イメージのダイジェストをシークレットの jobDefinitionContainerImage に"
    "書き込みます。",
    "ExecutionInputKeys": "実行の入力がその実行について指定できる設定キー（シークレットはすべてのキーを"
    "指定できます）。モードの他のキーを指定した入力は、何かを作る前に LoadConfig が拒否し、キーとこの"
    'パラメータを示します。"*" ですべてのキー、空ならどのキーも不可。既定値（どのモードでも同じ一覧。'
    "他のモードのキーは適用されません）は、サイズ、スループット、タイムアウト、ポーリングの間隔、"
    "arraySize、jobCommand、onFailure: イメージ、環境変数、再試行回数、削除するか残すか、データの行き先"
    "は含みません。",
    "AllowedImagePrefixes": "スタック自身の ECR リポジトリのほかに、実行の jobDefinitionContainerImage "
    "に使えるリポジトリ（カンマ区切り）: registry/path（そのリポジトリ、任意のタグまたはダイジェスト）"
    "または registry/path/*（registry/path/ の下のすべてのリポジトリ）。レジストリは省略せずに書きます"
    "（例: public.ecr.aws/my-alias/tools、docker.io/library/ubuntu）。LoadConfig が確認し、"
    "RegisterJobDefinition の IAM（batch:Image）でも強制します。空ならスタック自身のリポジトリのみ。",
    "LogRetentionInDays": "関数、ステートマシン、ジョブのログ（ロググループ /aws/batch/<stack name>/jobs）"
    "を保持する日数。",
    "NoncurrentVersionRetentionDays": "データバケットが上書きまたは削除されたオブジェクトのバージョンを、"
    "S3 が失効させるまで保持する日数（バケットはバージョニングが有効で、自動エクスポートは削除も反映"
    "します）。バージョンのない削除マーカーも削除します。",
    "RunTimeoutSeconds": "実行全体の上限（実行の開始からの秒数。既定は 604800、7 日。最大は Standard "
    "の実行の上限の 1 年）。ジョブはそれまでの残り時間を使えます。上限で動いているジョブは停止され、"
    "実行は失敗時の経路（後片付けと onFailure の方針）で終わります。",
    "NotificationEmail": "スタックの ReleaseTopic を購読するメールアドレス（SNS が送る確認メールで購読を"
    "確認します）。解放をあきらめてリソースを残した実行と、解放の失敗のアラームを通知します。空なら"
    "後で購読します。",
    "SweepSchedule": "掃除の EventBridge スケジュール式。実行がもう動いていないのに retained-reason の"
    "ないリソースを残した実行をすべて解放します。",
    "ComputeEnvironmentType": "実行ごとの Batch のコンピューティング環境の購入オプション: SPOT"
    "（スポットインスタンスの中断は同じストレージで再試行）または EC2（オンデマンド）。",
    "AllocationStrategy": "Batch の配分戦略。SPOT_* の戦略は ComputeEnvironmentType SPOT が必要です。"
    "SPOT での BEST_FIT にはスポットフリートのロールが必要で、このスタックは作りません。",
    "InstanceTypes": "コンピューティング環境のインスタンスタイプまたはファミリー（カンマ区切り。例: "
    '"optimal"、"default_arm64"、"c7i,m7i"、"c7i.8xlarge"）。空白は入れません。',
    "MinvCpus": "実行ごとのコンピューティング環境が動かし続ける最小の vCPU 数（0 なら 0 まで縮小）。",
    "MaxvCpus": "実行ごとのコンピューティング環境の最大の vCPU 数。jobDefinitionVcpus はこれ以下で、"
    "配列ジョブで同時に動く子ジョブの数もこれで決まります。",
    "DesiredvCpus": "実行ごとのコンピューティング環境の最初の希望 vCPU 数（最小と最大の間）。",
    "BatchServiceRoleArn": "AWS Batch が実行ごとのコンピューティング環境を管理するのに使う IAM ロール。"
    "空なら AWSServiceRoleForBatch サービスリンクロールを使います（推奨。最初の使用時に作成されます）。",
    "VpcId": "Batch のインスタンスに使う既存の VPC。空なら 2 つのアベイラビリティーゾーンにパブリックと"
    "プライベートのサブネット、1 つの NAT ゲートウェイを持つ VPC を作ります。",
    "PrivateSubnetIds": "VpcId のプライベートサブネット。インターネット（NAT）か VPC エンドポイントへの"
    "経路があり、できれば複数のアベイラビリティーゾーンにあること。VpcId と一緒に必須、VpcId がなければ"
    "無視します。",
    "VpcCidr": "VpcId が空のときに作る VPC の IPv4 /16 ブロック（x.y.0.0/16）。最初の 4 つの /20 "
    "ブロックがパブリックとプライベートのサブネットになります。",
    "MaxLustreStorageCapacity": "実行が求められる lustreStorageCapacity（GiB）の上限。これを超えると"
    "何かを作る前に LoadConfig が拒否します。アカウントの FSx for Lustre のストレージのクォータ"
    "（Service Quotas コンソール、Amazon FSx）に合わせます。クォータはアカウントとリージョンで"
    "異なります。",
    "KmsKeyArn": "このリージョンの対称カスタマーマネージド KMS キーの ARN。実行の EBS ボリュームと"
    "そのスナップショット、インスタンスのルートボリューム、FSx for Lustre ファイルシステム"
    "（PERSISTENT_1 と PERSISTENT_2 のみ: キーを指定すると LoadConfig は SCRATCH_2 を拒否します）、"
    "データバケット（S3 バケットキーを使う SSE-KMS）、スタックのロググループを暗号化します。空なら AWS "
    "マネージドキーと AWS 所有のキーを使います。キーポリシーは CloudWatch Logs、EC2 Auto Scaling、FSx "
    "のサービスリンクロールを許可すること（docs/encryption.md）。",
}
"""Japanese texts of every template parameter's Description, by parameter name."""
